package dev.procpool.core.internal.engine;

import dev.procpool.AttemptRecord;
import dev.procpool.FailureReason;
import dev.procpool.PoolConfig;
import dev.procpool.PoolSnapshot;
import dev.procpool.ProcPoolException;
import dev.procpool.TaskFailedException;
import dev.procpool.TaskHandle;
import dev.procpool.TaskInfo;
import dev.procpool.TaskRejectedException;
import dev.procpool.TaskRequest;
import dev.procpool.TaskResult;
import dev.procpool.TaskState;
import dev.procpool.TaskStore;
import dev.procpool.core.internal.protocol.Payloads;
import dev.procpool.core.internal.store.AttemptEnd;
import dev.procpool.core.internal.store.CancelResult;
import dev.procpool.core.internal.store.ClaimResult;
import dev.procpool.core.internal.store.ClaimedTask;
import dev.procpool.core.internal.store.DurableStore;
import dev.procpool.core.internal.store.InsertResult;
import dev.procpool.core.internal.store.NewTask;
import dev.procpool.core.internal.store.RecordOutcome;
import dev.procpool.core.internal.store.StoreEvents;
import dev.procpool.core.internal.store.StoreSettings;
import dev.procpool.core.internal.store.StoreUnavailableException;
import dev.procpool.core.internal.store.StoredTask;
import dev.procpool.core.internal.store.TaskStores;
import dev.procpool.core.internal.text.Units;
import dev.procpool.core.internal.Loggers;
import org.slf4j.Logger;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

/**
 * The pool's side of a durable task store: submitting (durable before {@code submitTask} returns), claiming what this
 * host's workers can run, recording each attempt's end (fenced by its lease) and completing callers' futures once the
 * store has the outcome, renewing this host's leases, rescuing other hosts' expired ones, and housekeeping. Its own
 * thread ({@code procpool-<pool>-store}) makes the claims and the periodic calls; submits block their caller until
 * the insert's commit (shared with concurrent submits); records never block anyone.
 *
 * <p>A caller's handle is a task record that exists before any claim: when this host claims the task, the engine runs
 * that same record, so the handle follows it; when another host ends the task, the store's notifications (or polls)
 * complete it.
 *
 * <p>A little over 600 lines: submit, claim, record and the store's thread share the handle records and their
 * completion rule (once, the first of this host's record and the store's word); kept together so that rule has one
 * home. The store's own work is in {@code internal/store}, the leases in {@link LeaseKeeper}.
 */
final class DurableTasks implements StoreEnds, StoreEvents, AutoCloseable {
    private static final Logger LOG = Loggers.store();
    private static final long PURGE_EVERY_NANOS = TimeUnit.HOURS.toNanos(1);
    private static final long VIEW_EVERY_NANOS = TimeUnit.SECONDS.toNanos(2);
    private static final long MAX_BACKOFF_NANOS = TimeUnit.SECONDS.toNanos(5);
    private static final int MAX_AHEAD = 1024;

    private final PoolConfig config;
    private final TaskStore.Durable settings;
    private final Engine engine;
    private final StoreLink link;
    private final EngineContext ctx;
    private final DurableStore store;
    private final Thread runner;
    private final LeaseKeeper leases;
    /** Handles of this host on tasks not yet ended, by id: the records the engine runs when it claims them. */
    private final Map<String, TaskRecord> pending = new ConcurrentHashMap<>();
    private final AtomicLong fenced = new AtomicLong();
    private final AtomicLong errors = new AtomicLong();
    private final AtomicLong deadLettered = new AtomicLong();
    private final StoredDeadLetters deadLetters;
    private volatile int deadLetterCount;
    private volatile boolean available = true;
    private volatile boolean wake;
    private volatile boolean closed;
    private volatile int hosts = 1;
    private volatile long waiting;
    /** How long a claim takes, smoothed: how far ahead to claim so that workers do not wait for the next one. */
    private volatile long claimNanos = TimeUnit.MILLISECONDS.toNanos(1);

    DurableTasks(PoolConfig config, TaskStore.Durable settings, Engine engine, ThreadFactory threads) {
        this.config = config;
        this.settings = settings;
        this.engine = engine;
        this.link = engine.storeLink();
        this.ctx = engine.ctx;
        TaskStores.Builder builder = settings.kind() == TaskStore.Durable.Kind.SQLITE
                ? TaskStores.sqlite(settings.file().orElseThrow())
                : TaskStores.postgres(settings.dataSource().orElseThrow());
        this.store = builder.pool(config.name()).settings(StoreSettings.of(settings)).threads(threads).build();
        this.leases = new LeaseKeeper(store, link, ctx);
        this.deadLetters = new StoredDeadLetters(store, ctx.clock, task -> rank(task.priority(), ctx.clock.instant()),
                id -> handle(id).orElseThrow(), deadLettered::get);
        this.runner = threads.newThread(this::run);
        this.runner.setName("procpool-" + config.name() + "-store");
    }

    /** Opens the store (creating or migrating its schema) and starts claiming. */
    void open() {
        store.open(this);
        engine.storeEnds(this);
        engine.storeView(this::view, () -> new PoolSnapshot.DeadLetters(deadLetterCount, deadLettered.get(), 0));
        link.onRoomForClaims(this::wakeRunner);
        runner.start();
    }

    // ------------------------------------------------------------------ submitting

    /**
     * Stores tasks in one transaction (shared with concurrent submits) and returns their handles once they are
     * durable, in order. A task whose id the store already has is not stored again: its handle follows the existing
     * task. The caller has checked each task ({@link StoreLink#checkSubmit}).
     *
     * @throws TaskRejectedException ({@code STORE_UNAVAILABLE}) if the store cannot take them: none was stored
     */
    List<TaskHandle> submit(List<TaskRecord> tasks) {
        Instant now = ctx.clock.instant();
        List<TaskRecord> handles = new ArrayList<>(tasks.size());
        List<TaskRecord> inserting = new ArrayList<>(tasks.size());
        List<NewTask> rows = new ArrayList<>(tasks.size());
        for (TaskRecord task : tasks) {
            TaskRecord existing = pending.putIfAbsent(task.id, task);
            handles.add(existing != null ? existing : task); // submitted again while this host waits: the same task
            if (existing == null) {
                inserting.add(task);
                rows.add(row(task, now));
            }
        }
        if (!rows.isEmpty()) {
            List<InsertResult> inserted = insert(rows, inserting);
            for (int i = 0; i < inserting.size(); i++) {
                TaskRecord task = inserting.get(i);
                if (inserted.get(i).created()) {
                    link.countSubmitted(task);
                    watch(task);
                } else {
                    LOG.debug("task {} is in the store already ({}); the handle follows it", task.id,
                            inserted.get(i).state());
                    follow(task, inserted.get(i).state());
                }
            }
            wakeRunner();
        }
        return handles.stream().map(this::handle).toList();
    }

    /**
     * Inserts rows and waits for their commit; an interrupt does not cut the wait short (the commit takes as long as
     * the store's timeouts allow at most), so the caller never has to guess whether a task was stored.
     */
    private List<InsertResult> insert(List<NewTask> rows, List<TaskRecord> tasks) {
        long start = System.nanoTime();
        CompletableFuture<List<InsertResult>> commit = store.insertAsync(rows);
        boolean interrupted = false;
        try {
            while (true) {
                try {
                    List<InsertResult> inserted = commit.get();
                    ctx.trackers.storeCall("submit", System.nanoTime() - start, true);
                    reachable(null);
                    return inserted;
                } catch (InterruptedException e) {
                    interrupted = true;
                } catch (ExecutionException e) {
                    tasks.forEach(task -> pending.remove(task.id, task));
                    ctx.trackers.storeCall("submit", System.nanoTime() - start, false);
                    throw unavailable(tasks, e.getCause());
                }
            }
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    private NewTask row(TaskRecord task, Instant now) {
        TaskRequest request = task.request;
        return new NewTask(task.id, request.type(), request.requiredCapabilities(),
                new String(task.payloadJson, StandardCharsets.UTF_8), request.priority(),
                rank(request.priority(), now), request.notBefore().orElse(now),
                task.timeoutNanos > 0 ? Duration.ofNanos(task.timeoutNanos) : null, task.retryPolicy,
                request.affinityKey().orElse(null), now);
    }

    private TaskRejectedException unavailable(List<TaskRecord> tasks, Throwable cause) {
        errors.incrementAndGet();
        reachable(cause);
        tasks.forEach(task -> engine.countRejected(TaskRejectedException.Kind.STORE_UNAVAILABLE));
        String which = tasks.size() == 1 ? "task " + tasks.get(0).id + " (" + tasks.get(0).type() + ") was"
                : tasks.size() + " tasks were";
        return new TaskRejectedException(TaskRejectedException.Kind.STORE_UNAVAILABLE, "the task store of pool \""
                + config.name() + "\" cannot be reached, so " + which + " not stored: " + cause.getMessage()
                + "; try again later", cause);
    }

    /**
     * The run order in the store, comparable between hosts: the priority, lifted by aging as in memory but on the
     * wall clock ({@code priority × step + submitted}, in milliseconds), or the priority alone without aging.
     */
    private long rank(int priority, Instant submitted) {
        return config.priorityAgingStep().map(step -> priority * step.toMillis() + submitted.toEpochMilli())
                .orElse((long) priority);
    }

    /** Completes a handle when the store says its task ended (on whichever host). */
    private void watch(TaskRecord task) {
        store.watchEnd(task.id).whenComplete((ended, error) -> {
            if (ended != null) {
                complete(task, ended.state(), StoredViews.outcome(ended, Payloads.forPool(ctx.config)));
            }
        });
    }

    /**
     * A handle on a task the store had already: completed now if it ended, else when it does. The task may end
     * between the look-up and the watch (even here, on a claim that runs it), so the wait looks it up once more.
     */
    private void follow(TaskRecord task, TaskState state) {
        CompletableFuture<StoredTask> end = state.isTerminal()
                ? CompletableFuture.completedFuture(store.find(task.id).orElse(null))
                : store.awaitEnd(task.id);
        end.whenComplete((ended, error) -> {
            if (ended != null) {
                complete(task, ended.state(), StoredViews.outcome(ended, Payloads.forPool(ctx.config)));
            }
        });
    }

    private TaskHandle handle(TaskRecord task) {
        return new DefaultTaskHandle(task, this::cancel);
    }

    /** A handle on a task of the store, submitted by any host; empty if the store does not know it. */
    Optional<TaskHandle> handle(String taskId) {
        TaskRecord mine = pending.get(taskId);
        if (mine != null) {
            return Optional.of(handle(mine));
        }
        Optional<StoredTask> stored = store.find(taskId);
        if (stored.isEmpty()) {
            return Optional.empty();
        }
        StoredTask found = stored.get();
        TaskRequest request = request(found.type(), found.priority(), found.requiredCapabilities(),
                found.affinityKey(), found.retryPolicy(), found.timeout(), found.id());
        TaskRecord task = new TaskRecord(found.id(), request, found.payloadJson().getBytes(StandardCharsets.UTF_8),
                0, ctx.now(), found.timeout() == null ? 0 : found.timeout().toNanos(), found.retryPolicy());
        task.state = found.state();
        if (!found.state().isTerminal()) {
            TaskRecord raced = pending.putIfAbsent(taskId, task);
            task = raced != null ? raced : task;
        }
        follow(task, found.state());
        return Optional.of(handle(task));
    }

    /** What the store knows of a task. */
    Optional<TaskInfo> task(String taskId) {
        return store.find(taskId).map(StoredViews::info);
    }

    /** Cancels a task here if this host runs it, else in the store (a running task's host is asked to stop it). */
    private boolean cancel(TaskRecord task) {
        Boolean here = link.cancelIfHeld(task.id);
        if (here != null) {
            return here;
        }
        CancelResult result = store.cancel(task.id, ctx.clock.instant());
        return switch (result.outcome()) {
            case CANCELLED -> {
                complete(task, TaskState.CANCELLED, new TaskFailedException(task.id, task.type(),
                        FailureReason.CANCELLED, task.attempts, null, "cancelled by the caller"));
                yield true;
            }
            case REQUESTED -> true; // its host stops it, and the handle completes with the recorded outcome
            case ALREADY_ENDED, NOT_FOUND -> false;
        };
    }

    // ------------------------------------------------------------------ claiming

    /**
     * The record the engine runs for a claimed task: this host's handle on it if it has one, else a new one. A new
     * one too while the handle's record still runs an attempt: this host can claim a task it runs only once its lease
     * on that attempt is lost, which it may not know yet (the store thread was stopped between renewing and claiming),
     * and that attempt's late answer must reach the old record (void, {@link StoreLink#acceptClaimed}), never the new
     * attempt; the handle completes with the new one's end.
     */
    private TaskRecord record(ClaimedTask claim) {
        TaskRecord mine = pending.get(claim.id());
        if (mine != null && mine.worker == null) {
            return mine;
        }
        TaskRequest request = request(claim.type(), claim.priority(), claim.requiredCapabilities(),
                claim.affinityKey(), claim.retryPolicy(), claim.timeout(), claim.id());
        return new TaskRecord(claim.id(), request, claim.payloadJson().getBytes(StandardCharsets.UTF_8),
                claim.sequence(), ctx.now(), claim.timeout() == null ? 0 : claim.timeout().toNanos(),
                claim.retryPolicy());
    }

    private static TaskRequest request(String type, int priority, java.util.Set<String> capabilities,
                                       String affinityKey, dev.procpool.RetryPolicy policy, Duration timeout,
                                       String id) {
        TaskRequest request = TaskRequest.of(type, null).withId(id).withPriority(priority).withRetryPolicy(policy)
                .withRequiredCapabilities(capabilities.toArray(String[]::new));
        if (affinityKey != null) {
            request = request.withAffinityKey(affinityKey);
        }
        return timeout == null ? request : request.withTimeout(timeout);
    }

    /** Claims while this host has room and the store has due tasks it can run; returns when to look again. */
    private long claim() {
        long next = Long.MAX_VALUE;
        while (!closed) {
            StoreLink.ClaimPlan plan = link.claimPlan(ahead());
            if (plan.slots() == 0 || plan.served() == null) {
                return next;
            }
            int max = Math.min(plan.slots(), settings.maxBatchTasks());
            long start = System.nanoTime();
            ClaimResult result = store.claim(max, plan.served(), ctx.clock.instant());
            long took = System.nanoTime() - start;
            claimNanos = (claimNanos * 7 + took) / 8;
            ctx.trackers.storeCall("claim", took, true);
            if (!result.tasks().isEmpty()) {
                link.acceptClaimed(result.tasks(), this::record);
            }
            next = result.nextDue().map(due -> System.nanoTime()
                    + Math.max(0, Duration.between(ctx.clock.instant(), due).toNanos())).orElse(Long.MAX_VALUE);
            if (result.tasks().size() < max) {
                return next;
            }
        }
        return next;
    }

    /**
     * How many tasks to keep waiting here beyond the free slots: what the workers can take while two claims travel
     * (the claim's round trip, smoothed, twice), so that they do not idle between claims. Next to none for tasks far
     * longer than a claim: those stay in the store, where an idle host can take them.
     */
    private int ahead() {
        return (int) Math.min(MAX_AHEAD, link.tasksServedIn(2 * claimNanos));
    }

    // ------------------------------------------------------------------ recording

    @Override
    public void ended(TaskRecord task, TaskState state, Object outcome, AttemptRecord failed, Effects fx) {
        if (task.abandoned || task.lease == null) {
            discardedLate(task); // another host owns the attempt now; or a handle-only record never claimed here
            return;
        }
        Instant now = ctx.clock.instant();
        AttemptEnd end;
        if (state == TaskState.SUCCEEDED) {
            DefaultTaskResult result = (DefaultTaskResult) outcome;
            end = AttemptEnd.succeeded(task.lease, result.json(), result.workerId(), result.workerPid(),
                    result.runTime(), now);
        } else {
            TaskFailedException failure = (TaskFailedException) outcome;
            AttemptRecord attempt = failed != null ? failed : new AttemptRecord(task.lease.attempt(),
                    task.lastWorkerId == null ? "-" : task.lastWorkerId, task.lastWorkerPid, failure.reason(),
                    failure.getMessage(), null, null, Duration.ZERO, 0, List.of(), null);
            end = AttemptEnd.ended(task.lease, state, attempt, failure.getMessage(), now);
        }
        // this host completes the handle once its record commits: the store need not look the end up for it,
        // unless the handle is another record (submitted here while a claim ran the task): that one keeps its watch
        if (pending.get(task.id) == task) {
            store.unwatch(task.id);
        }
        fx.quick(() -> record(task, end, state, outcome));
    }

    @Override
    public void retry(TaskRecord task, AttemptRecord failed, long delayNanos, Effects fx) {
        if (task.abandoned || task.lease == null) {
            discardedLate(task);
            return;
        }
        Instant now = ctx.clock.instant();
        AttemptEnd end = AttemptEnd.retry(task.lease, failed, now.plusNanos(delayNanos), now);
        fx.quick(() -> record(task, end, null, null));
    }

    /**
     * The end of an attempt whose lease this host knew it had lost: discarded here, as the store's fence would, and
     * counted alike (not when this host lets go of its attempts because it is closing).
     */
    private void discardedLate(TaskRecord task) {
        if (task.lease != null && !closed) {
            fenced.incrementAndGet();
            LOG.warn("task {}: attempt {} ended after this host lost its lease; its answer is discarded (another "
                    + "host owns the task)", task.id, task.lease.attempt());
        }
    }

    /** Records an attempt's end; once the store has it, the caller's future completes with the outcome. */
    private void record(TaskRecord task, AttemptEnd end, TaskState state, Object outcome) {
        long start = System.nanoTime();
        store.recordAsync(List.of(end)).whenComplete((outcomes, error) -> {
            ctx.trackers.storeCall("record", System.nanoTime() - start, error == null);
            if (error != null) {
                errors.incrementAndGet();
                reachable(error);
                LOG.warn("task {}: the end of attempt {} could not be recorded ({}); trying again", task.id,
                        end.lease().attempt(), error.getMessage());
                retryRecordLater(task, end, state, outcome);
                return;
            }
            reachable(null);
            RecordOutcome recorded = outcomes.get(0);
            switch (recorded) {
                case APPLIED -> {
                    if (state == TaskState.DEAD_LETTERED) {
                        deadLettered.incrementAndGet();
                    }
                    if (state != null) {
                        complete(task, state, outcome);
                    }
                }
                case CANCELLED -> complete(task, TaskState.CANCELLED, new TaskFailedException(task.id,
                        task.type(), FailureReason.CANCELLED, end.lease().attempt(), null,
                        "cancelled while its attempt ended"));
                case FENCED -> {
                    fenced.incrementAndGet();
                    if (pending.get(task.id) == task) {
                        watch(task); // its caller waits for the end the owning host records
                    }
                    LOG.warn("task {}: attempt {} ended after this host lost its lease; its answer is discarded "
                            + "(another host owns the task)", task.id, end.lease().attempt());
                }
            }
        });
    }

    /** A record the store could not take: tried again after a pause (records are idempotent). */
    private void retryRecordLater(TaskRecord task, AttemptEnd end, TaskState state, Object outcome) {
        CompletableFuture.delayedExecutor(Math.min(settings.leaseTimeout().toMillis() / 4, 1000),
                        TimeUnit.MILLISECONDS)
                .execute(() -> {
                    if (!closed) {
                        record(task, end, state, outcome);
                    }
                });
    }

    /**
     * Completes a handle once: the first of this host's record and the store's word wins. A claim can run a task
     * whose handle is another record (submitted again here while the claim was on its way): that one completes too.
     */
    private void complete(TaskRecord task, TaskState state, Object outcome) {
        TaskRecord submitted = pending.get(task.id);
        if (submitted != null && submitted != task && state.isTerminal()) {
            complete(submitted, state, outcome);
        }
        pending.remove(task.id, task);
        store.unwatch(task.id);
        task.endedInStore = state; // the engine's own state of the record is the engine's
        if (outcome instanceof TaskFailedException failure) {
            task.future.completeExceptionally(failure);
        } else {
            task.future.complete((TaskResult) outcome);
        }
    }

    // ------------------------------------------------------------------ events from the store

    @Override
    public void tasksAvailable() {
        wakeRunner();
    }

    @Override
    public void cancelRequested(String taskId) {
        link.cancelRequested(List.of(taskId));
    }

    /** Something may be claimable now: new tasks, or free slots. */
    void wakeRunner() {
        wake = true;
        LockSupport.unpark(runner);
    }

    // ------------------------------------------------------------------ the store's thread

    private void run() {
        long renewEvery = config.heartbeatInterval().toNanos();
        // a lost host's attempts are rescued within a second of its lease running out: the look is one indexed
        // query (running tasks by lease expiry), so it runs often, a tenth of the lease, between 50 and 500 ms
        long rescueEvery = Math.max(TimeUnit.MILLISECONDS.toNanos(50), Math.min(TimeUnit.MILLISECONDS.toNanos(500),
                settings.leaseTimeout().toNanos() / 10));
        long now = System.nanoTime();
        long renewAt = now;
        long rescueAt = now;
        long purgeAt = now;
        long viewAt = now;
        long failures = 0;
        while (!closed) {
            long next;
            wake = false;
            try {
                now = System.nanoTime();
                if (now - renewAt >= 0) {
                    leases.renew();
                    renewAt = now + renewEvery;
                }
                if (now - rescueAt >= 0) {
                    leases.rescue(() -> closed);
                    rescueAt = now + rescueEvery;
                }
                if (now - purgeAt >= 0) {
                    store.purgeExpired(ctx.clock.instant());
                    purgeAt = now + PURGE_EVERY_NANOS;
                }
                if (now - viewAt >= 0) {
                    hosts = (int) store.hosts().stream().filter(h -> h.stoppedAt() == null).count();
                    waiting = store.waitingCount();
                    deadLetterCount = store.deadLetterCount();
                    viewAt = now + VIEW_EVERY_NANOS;
                }
                long due = claim();
                reachable(null);
                failures = 0;
                next = Math.min(Math.min(renewAt, rescueAt), Math.min(Math.min(purgeAt, viewAt), due));
            } catch (StoreUnavailableException | IllegalStateException e) {
                if (closed) {
                    break;
                }
                errors.incrementAndGet();
                reachable(e);
                failures++;
                next = System.nanoTime() + Math.min(MAX_BACKOFF_NANOS,
                        TimeUnit.MILLISECONDS.toNanos(100) << Math.min(6, failures));
            } catch (RuntimeException e) {
                LOG.error("procpool bug: the store thread of pool {} failed", config.name(), e);
                next = System.nanoTime() + TimeUnit.SECONDS.toNanos(1);
            }
            long wait = next - System.nanoTime();
            if (!wake && wait > 0) {
                LockSupport.parkNanos(this, wait);
            }
        }
    }

    // ------------------------------------------------------------------ views and closing

    /** {@return "sqlite" or "postgresql"} */
    String kind() {
        return settings.kind() == TaskStore.Durable.Kind.SQLITE ? "sqlite" : "postgresql";
    }

    private PoolSnapshot.Store view() {
        return new PoolSnapshot.Store(kind(), store.host().name(), available, hosts, waiting, leases.rescued(), fenced.get(), errors.get());
    }

    /**
     * Notes whether the store answered (a null cause) or not; on a change, logs it and updates the pool's health
     * (DEGRADED while it cannot be reached), which tells the listeners.
     */
    private void reachable(Throwable cause) {
        boolean now = cause == null;
        if (available == now) {
            return;
        }
        available = now;
        if (now) {
            LOG.info("the task store of pool {} is reachable again", config.name());
        } else {
            LOG.warn("the task store of pool {} cannot be reached: {}; running tasks go on, new ones are refused, "
                    + "retrying", config.name(), cause.getMessage());
        }
        engine.storeAvailabilityChanged();
    }

    /** Whether the store answered its last call: the pool is degraded while it does not. */
    boolean available() {
        return available;
    }

    DurableStore store() {
        return store;
    }

    /** The dead letters of the store, of every host of the pool. */
    StoredDeadLetters deadLetters() {
        return deadLetters;
    }

    /**
     * Stops claiming and closes the store: this host's remaining leases expire at once, so another host (or this one
     * restarted) takes those tasks over. Handles on tasks that have not ended fail: the tasks go on in the store.
     */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        LockSupport.unpark(runner);
        try {
            runner.join(TimeUnit.SECONDS.toMillis(10));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        store.close();
        for (TaskRecord task : List.copyOf(pending.values())) {
            if (pending.remove(task.id, task)) {
                task.future.completeExceptionally(new ProcPoolException("pool \"" + config.name() + "\" closed "
                        + "before task " + task.id + " ended; the task goes on in its store, where "
                        + "WorkerPool.handle(id) finds it (" + Units.duration(settings.retention()) + " retention)"));
            }
        }
    }
}
