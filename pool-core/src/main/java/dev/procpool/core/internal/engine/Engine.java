package dev.procpool.core.internal.engine;

import dev.procpool.FailureReason;
import dev.procpool.HealthStatus;
import dev.procpool.PoolConfig;
import dev.procpool.PoolEvent;
import dev.procpool.PoolHealth;
import dev.procpool.PoolSnapshot;
import dev.procpool.PoolState;
import dev.procpool.TaskHandle;
import dev.procpool.TaskInfo;
import dev.procpool.TaskRejectedException;
import dev.procpool.TaskRequest;
import dev.procpool.TaskState;
import dev.procpool.WorkerSnapshot;
import dev.procpool.WorkerStartupException;
import dev.procpool.WorkerState;
import dev.procpool.core.internal.balance.Balancing;
import dev.procpool.core.internal.balance.Placement;
import dev.procpool.core.internal.events.EventBus;
import dev.procpool.core.internal.process.ClassDataSharing;
import dev.procpool.core.internal.process.WorkerCommands;
import dev.procpool.core.internal.process.WorkerConnection;
import dev.procpool.core.internal.process.WorkerLauncher;
import dev.procpool.core.internal.process.WorkerProcess;
import dev.procpool.core.internal.protocol.FrameCodec;
import dev.procpool.core.internal.queue.TaskBook;
import dev.procpool.core.internal.retry.DeadLetters;
import dev.procpool.core.internal.scale.Autoscaler;
import dev.procpool.core.internal.supervise.Deadlines;
import dev.procpool.core.internal.supervise.MemoryProbe;
import dev.procpool.core.internal.text.Units;
import dev.procpool.core.internal.Loggers;
import org.slf4j.Logger;

import java.io.IOException;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.Supplier;
import java.util.Set;
import java.util.function.DoubleSupplier;

/**
 * The one owner of scheduling state. Tasks, workers and the pool's state change only here, under one short lock,
 * in the order this class calls its rooms: {@link Admission} (what comes in), the {@link TaskBook} (what waits), the
 * {@link Dispatcher} and {@link Placement} (where a task goes), the {@link Supervisor} (the workers),
 * {@link Attempts} (each attempt's life), {@link Outputs} and {@link Stats}; with a durable store, {@link StoreLink}
 * (what this host claims and holds).
 * Callers (submitting threads, worker reader threads, the maintenance thread) hold the lock only to decide; the I/O
 * the decisions need is collected in {@link Effects} and carried out after the lock is released, in a
 * {@code finally}, whatever threw.
 *
 * <p>Maintenance ({@link #maintain(long)}) is a function of the time it is given and returns when it is next due;
 * jitter comes from an injected random source; so tests drive heartbeat checks, timeouts, backoff and recycling
 * with fake time and no sleeping.
 *
 * <p>Longer than 600 lines on purpose: it is the one place that takes the lock and calls the rooms in order, and
 * each entry point is a few lines of locking and delegation; splitting it would split that order.
 */
final class Engine {
    private static final Logger LOG = Loggers.pool();
    /** While tasks wait and a group may grow, automatic scaling looks again this often. */
    private static final long AUTOSCALE_CHECK_NANOS = TimeUnit.MILLISECONDS.toNanos(50);

    /** What the engine works with besides its configuration; tests pass fakes. */
    record Collaborators(FrameCodec codec, WorkerLauncher launcher, MemoryProbe memory, DoubleSupplier random,
                         EventBus events, Clock clock, Executor slowEffects, Runnable wakeMaintenance) {
    }

    final EngineContext ctx;
    private final PoolConfig config;
    private final WorkerLauncher launcher;
    private final MemoryProbe memory;
    /** Class-data-sharing archives for Java workers; null when switched off. */
    private final ClassDataSharing classDataSharing;
    private final Counters counters = new Counters();
    private final TaskBook<TaskRecord> book;
    private final Placement placement;
    private final Dispatcher dispatcher;
    final WorkerStops stops;
    final Supervisor supervisor;
    final Outputs outputs;
    final Attempts attempts;
    private final Stats stats;
    private final Scaling scaling;
    private final Condition terminated;
    private final Admission admission;
    private final StoreLink storeLink;
    private PoolState state = PoolState.NEW;
    private final java.util.concurrent.atomic.AtomicLong sequence = new java.util.concurrent.atomic.AtomicLong();
    private long startedAt;
    private PoolHealth health = new PoolHealth(HealthStatus.HEALTHY, List.of());
    /** Whether tasks are kept in a durable store: they belong to the store, not to this host's memory. */
    private boolean durable;
    private volatile Supplier<PoolSnapshot.Store> storeView =
            () -> new PoolSnapshot.Store("in-memory", "", true, 1, 0, 0, 0, 0);

    Engine(PoolConfig config, Collaborators with, DeadLetters deadLetters) {
        this.config = config;
        this.ctx = new EngineContext(config, with.codec(), with.events(), with.clock(), with.random(),
                with.slowEffects(), with.wakeMaintenance());
        this.launcher = with.launcher();
        this.memory = with.memory();
        this.classDataSharing = config.classDataSharing() ? new ClassDataSharing(config.workerCacheDirectory()) : null;
        this.terminated = ctx.lock.newCondition();
        this.book = new TaskBook<>(config.queueCapacity(),
                config.priorityAgingStep().map(Duration::toNanos).orElse(0L));
        this.placement = new Placement(config.name());
        WorkerStops stops = new WorkerStops(ctx, memory);
        this.supervisor = new Supervisor(ctx, counters, memory, stops, this::launch, () -> state.acceptsTasks());
        this.outputs = new Outputs(ctx);
        this.attempts = new Attempts(ctx, counters, book, deadLetters, outputs, stops,
                () -> state.acceptsTasks() || state == PoolState.DRAINING);
        this.stats = new Stats(ctx, counters, supervisor, book, deadLetters);
        this.scaling = new Scaling(ctx, supervisor, stops);
        this.admission = new Admission(ctx, book, supervisor, counters, () -> state);
        this.storeLink = new StoreLink(this, book, supervisor, admission, counters);
        this.dispatcher = new Dispatcher(ctx, book, supervisor, placement,
                Balancing.forPool(config.loadBalancer(), config.name()), admission, attempts);
        this.stops = stops;
    }

    /** The pool's trackers, told of it before the first worker launches. */
    Trackers trackers() {
        return ctx.trackers;
    }

    // ------------------------------------------------------------------ the lock

    /** Decides under the lock, then carries out the decided effects, always (whatever the decision threw). */
    <T> T decide(Function<Effects, T> decision) {
        Effects fx = new Effects(ctx);
        ctx.lock.lock();
        try {
            return decision.apply(fx);
        } finally {
            ctx.lock.unlock();
            fx.run();
        }
    }

    /** As {@link #decide}, for decisions without a value. */
    void act(Consumer<Effects> decision) {
        Effects fx = new Effects(ctx);
        ctx.lock.lock();
        try {
            decision.accept(fx);
        } finally {
            ctx.lock.unlock();
            fx.run();
        }
    }

    /** Reads state under the lock. */
    <T> T read(Supplier<T> view) {
        ctx.lock.lock();
        try {
            return view.get();
        } finally {
            ctx.lock.unlock();
        }
    }

    // ------------------------------------------------------------------ lifecycle

    /** Launches every group's workers; returns them, to wait for their ready futures. */
    List<WorkerRecord> start() {
        return decide(fx -> {
            if (state != PoolState.NEW) {
                throw new IllegalStateException("the pool was started already");
            }
            startedAt = ctx.now();
            book.epoch(startedAt);
            return supervisor.startAll(fx);
        });
    }

    /** Marks the pool running once every worker is ready. */
    void markRunning() {
        act(fx -> {
            if (state == PoolState.NEW) {
                state = PoolState.RUNNING;
                if (ctx.listening()) {
                    ctx.publish(new PoolEvent.PoolStarted(config.name(), ctx.clock.instant(),
                            supervisor.workers.size()));
                }
                supervisor.topUpAll();
                ctx.wakeMaintenance();
            }
        });
    }

    PoolState state() {
        return read(() -> state);
    }

    /** Stops accepting tasks; workers stop once no task is queued, waiting to retry, or running. */
    void shutdown() {
        act(fx -> {
            if (state.acceptsTasks() || state == PoolState.NEW) {
                state = PoolState.DRAINING;
                LOG.info("pool {} shutting down: {} queued, {} waiting to retry, {} running", config.name(),
                        book.queued(), book.retrying(), supervisor.runningCount());
                admission.stopping();
            }
            stopIdleWorkersIfDrained(fx);
        });
    }

    /** Cancels everything and stops every worker; returns the requests that never started. */
    List<TaskRequest> shutdownNow() {
        return decide(fx -> {
            List<TaskRequest> neverStarted = new ArrayList<>();
            if (state != PoolState.TERMINATED) {
                state = PoolState.DRAINING;
            }
            admission.stopping();
            if (durable) {
                // the tasks are the store's: this host lets go of them (another host, or this one restarted, runs
                // them, HOST_LOST for the attempts cut short) instead of cancelling them for everyone
                for (TaskRecord task : book.held()) {
                    task.abandoned = true;
                    if (book.unqueue(task)) {
                        book.release(task);
                    }
                }
            }
            for (TaskRecord task : book.drainQueue()) {
                if (task.attempts == 0) {
                    neverStarted.add(task.request);
                }
                cancel(task, "the pool was shut down before the task ran", fx);
            }
            for (TaskRecord task : book.waitingToRetry()) {
                if (task.attempts == 0) {
                    neverStarted.add(task.request);
                }
                cancel(task, task.state == TaskState.SCHEDULED ? "the pool was shut down before the task's "
                        + "not-before time" : "the pool was shut down while the task waited to be retried", fx);
            }
            for (WorkerRecord worker : supervisor.workers) {
                for (TaskRecord task : List.copyOf(worker.inFlight.values())) {
                    cancel(task, "the pool was shut down while the task ran", fx);
                }
                stops.begin(worker, null, "pool shut down", WorkerStops.Mode.CLOSE_INPUT, fx);
            }
            supervisor.cancelPendingSpawns();
            terminateIfDone();
            return neverStarted;
        });
    }

    boolean awaitTermination(long nanos) throws InterruptedException {
        ctx.lock.lock();
        try {
            while (state != PoolState.TERMINATED) {
                if (nanos <= 0) {
                    return false;
                }
                nanos = terminated.awaitNanos(nanos);
            }
            return true;
        } finally {
            ctx.lock.unlock();
        }
    }

    /** The connections of the current workers. */
    List<WorkerConnection> connections() {
        return read(() -> supervisor.workers.stream().map(w -> w.process).filter(p -> p != null).toList());
    }

    // ------------------------------------------------------------------ tasks

    /** The next task's sequence number; taken without the lock, as every submitter takes one. */
    long nextSequence() {
        return sequence.incrementAndGet();
    }

    /**
     * Accepts a task or throws; dispatches it if a worker is free. On a full queue it waits for room when the pool
     * is configured to block, up to the configured time.
     */
    void submit(TaskRecord task) {
        // act() written out: a lambda capturing the task would be garbage made per submitted task
        Effects fx = new Effects(ctx);
        ctx.lock.lock();
        try {
            try {
                admission.admit(task);
            } catch (TaskRejectedException e) {
                counters.rejected(e.kind());
                throw e;
            }
            dispatch(fx);
            if (book.queued() > 0 && supervisor.mayGrow()) {
                ctx.dueAt(ctx.now() + AUTOSCALE_CHECK_NANOS);
            }
        } finally {
            ctx.lock.unlock();
            fx.run();
        }
    }

    /** Counts a submission refused before it reached the engine (payload problems). */
    void countRejected(TaskRejectedException.Kind kind) {
        read(() -> {
            counters.rejected(kind);
            return null;
        });
    }

    /** Cancels a task; returns whether this call ended it. */
    boolean cancel(TaskRecord task) {
        return decide(fx -> cancel(task, "cancelled by the caller", fx));
    }

    boolean cancel(TaskRecord task, String why, Effects fx) {
        if (task.state.isTerminal()) {
            return false;
        }
        if (task.state == TaskState.RUNNING) {
            // The worker keeps the slot until it answers the cancel or is killed at cancelKillAt.
            task.cancelKillAt = ctx.now() + config.cancelGracePeriod().toNanos();
            fx.send(task.worker, ctx.codec.encodeCancel(task.id));
            ctx.dueAt(task.cancelKillAt);
        } else if (task.state == TaskState.RETRY_WAIT || task.state == TaskState.SCHEDULED) {
            book.cancelRetry(task);
        } else {
            book.unqueue(task);
            admission.roomMade();
        }
        counters.cancelled++;
        attempts.finish(task, TaskState.CANCELLED, attempts.failure(task, FailureReason.CANCELLED, null, why), fx);
        return true;
    }

    /**
     * Fills free worker slots from the queue, in run order, each task where {@link Placement} puts it; with a durable
     * store, wakes its claims when little is left to run here.
     */
    void dispatch(Effects fx) {
        dispatcher.fillSlots(fx);
        if (durable) {
            storeLink.afterDispatch();
        }
    }

    /** What this pool knows of a task: held now, or ended within the output retention (in memory). */
    Optional<TaskInfo> task(String taskId) {
        return read(() -> attempts.ended.find(taskId, book.get(taskId), ctx));
    }

    /** A handle on a task this pool holds, or that ended within the output retention (in memory). */
    Optional<TaskHandle> handle(String taskId) {
        return read(() -> {
            TaskRecord held = book.get(taskId);
            return held != null ? Optional.of(new DefaultTaskHandle(held, this::cancel))
                    : attempts.ended.handle(taskId, ctx.now(), config.retryPolicy());
        });
    }

    Optional<List<String>> taskOutput(String taskId, int maxLines) {
        return read(() -> outputs.ofEndedTask(taskId, maxLines));
    }

    // ------------------------------------------------------------------ a durable task store

    /** The engine's side of a durable task store: claims, leases and checks, under this engine's lock. */
    StoreLink storeLink() {
        return storeLink;
    }

    /** Where attempt ends go with a durable store; from then on the tasks are the store's, not this host's. */
    void storeEnds(StoreEnds ends) {
        attempts.storeEnds(ends);
        this.durable = true;
    }

    /** How the store and its dead letters are doing, for snapshots. */
    void storeView(Supplier<PoolSnapshot.Store> view, Supplier<PoolSnapshot.DeadLetters> deadLetters) {
        this.storeView = view;
        stats.deadLetters(deadLetters);
    }

    boolean acceptsTasks() {
        return state.acceptsTasks();
    }

    // ------------------------------------------------------------------ workers

    /** Runs on the slow-effects thread: starts a worker's process; a launch that fails is a dead worker. */
    private void launch(WorkerRecord worker, boolean spare) {
        WorkerProcess.LaunchSpec spec = WorkerCommands.launchSpec(config, worker.group.config, worker.id,
                classDataSharing, spare);
        worker.command = spec.argv();
        LOG.debug("launching worker {} of group \"{}\": {}", worker.id, worker.group.name(), spec.argv());
        try {
            launcher.launch(worker.id, spec, new WorkerEvents(this, worker));
        } catch (IOException | RuntimeException e) {
            act(fx -> {
                String problem = "cannot start worker " + worker.id + " of group \"" + worker.group.name()
                        + "\": " + e.getMessage() + "; command: " + WorkerCommands.describe(spec.argv());
                LOG.error(problem);
                worker.state = WorkerState.DEAD;
                worker.stopCause = FailureReason.STARTUP_FAILURE;
                supervisor.workers.remove(worker);
                fx.quick(() -> worker.ready.completeExceptionally(new WorkerStartupException(problem, e)));
                startFailed(worker, "cannot run " + spec.argv().get(0) + ": " + e.getMessage(), fx);
                workerGone(worker, fx);
            });
        }
    }

    /**
     * A worker could not start. When that leaves its group unable to start workers, the tasks only such groups can
     * run fail now with {@link FailureReason#STARTUP_FAILURE} instead of waiting for workers that will not come.
     */
    void startFailed(WorkerRecord worker, String cause, Effects fx) {
        if (!supervisor.startFailed(worker, cause)) {
            return;
        }
        for (TaskRecord task : book.removeWhere(key -> !supervisor.canRunSomewhere((TaskRecord.RoutingKey) key))) {
            admission.roomMade();
            attempts.fail(task, attempts.failure(task, FailureReason.STARTUP_FAILURE, null,
                    supervisor.whyCannotStart(task.routingKey)), fx);
        }
    }

    /** After the frames of a burst (or any worker event): fill the slots it freed, and stop idle workers if drained. */
    void afterWorkerEvent(Effects fx) {
        dispatch(fx);
        stopIdleWorkersIfDrained(fx);
    }

    /** A worker is gone (exited, or never launched): replace it if needed, and see what that changes. */
    void workerGone(WorkerRecord worker, Effects fx) {
        boolean needed = state.acceptsTasks() || (state == PoolState.DRAINING && book.hasWaiting());
        supervisor.replace(worker, needed, fx);
        updateDegraded(ctx.now());
        dispatch(fx);
        stopIdleWorkersIfDrained(fx);
        terminateIfDone();
        updateHealth();
    }

    /** Adds (positive delta) or removes (negative delta) workers of a group; see WorkerPool.scaleUp/scaleDown. */
    void scale(String groupName, int delta) {
        act(fx -> {
            GroupRuntime group = supervisor.groups.get(groupName);
            if (group == null) {
                throw new IllegalArgumentException("pool \"" + config.name() + "\" has no group \"" + groupName
                        + "\"; its groups are " + supervisor.groups.keySet());
            }
            if (!state.acceptsTasks()) {
                throw new IllegalStateException("pool \"" + config.name() + "\" cannot scale in state " + state);
            }
            if (-delta > group.target) {
                throw new IllegalArgumentException("cannot remove " + (-delta) + " workers from group \""
                        + groupName + "\", which has " + group.target);
            }
            scaling.scale(group, delta, delta > 0 ? "scaled up by the application"
                    : "scaled down by the application", fx);
            dispatch(fx);
        });
    }

    // ------------------------------------------------------------------ the pool's state

    private void updateDegraded(long now) {
        boolean over = supervisor.restartsOverLimit(now);
        if (over && state == PoolState.RUNNING) {
            state = PoolState.DEGRADED;
            LOG.error("pool {} is DEGRADED: more than {} worker restarts within {}; replacing workers only every {}",
                    config.name(), config.restartPolicy().maxRestarts(), Units.duration(config.restartPolicy().window()),
                    Units.duration(config.restartPolicy().maxDelay()));
        } else if (!over && state == PoolState.DEGRADED) {
            state = PoolState.RUNNING;
            LOG.info("pool {} recovered: worker restarts are back under the limit", config.name());
        }
    }

    private void terminateIfDone() {
        if (state == PoolState.DRAINING && supervisor.workers.isEmpty()) {
            state = PoolState.TERMINATED;
            LOG.info("pool {} terminated", config.name());
            terminated.signalAll();
            ctx.trackers.poolTerminated();
            if (ctx.listening()) {
                ctx.publish(new PoolEvent.PoolTerminated(config.name(), ctx.clock.instant()));
            }
        }
    }

    /** While draining, idle workers are asked to exit once nothing is queued, waiting or running. */
    private void stopIdleWorkersIfDrained(Effects fx) {
        if (state != PoolState.DRAINING || book.hasWaiting() || supervisor.anyRunning()) {
            return;
        }
        for (WorkerRecord worker : supervisor.workers) {
            stops.begin(worker, null, "pool shut down", WorkerStops.Mode.ASK, fx);
        }
        supervisor.cancelPendingSpawns();
        terminateIfDone();
    }

    void updateHealth() {
        PoolHealth now = health(ctx.now());
        if (!now.equals(health)) {
            PoolHealth before = health;
            health = now;
            if (now.status() != HealthStatus.HEALTHY) {
                LOG.warn("pool {} health {}: {}", config.name(), now.status(), now.alerts());
            }
            if (ctx.listening()) {
                ctx.publish(new PoolEvent.HealthChanged(config.name(), ctx.clock.instant(), before, now));
            }
        }
    }

    // ------------------------------------------------------------------ maintenance

    /**
     * Checks start-up deadlines, heartbeats, task timeouts, retries that are due, memory and recycling, scaling,
     * pending replacements and stop escalation at time {@code now}, and acts. Returns the time until it is next due
     * ({@link Long#MAX_VALUE} when nothing is): the maintenance thread parks exactly that long, and is woken earlier
     * when something new falls due sooner. Tests call it with a fake time.
     */
    long maintain(long now) {
        MemoryProbe.Usage usage = memory.usage(); // file I/O, outside the lock
        long due = decide(fx -> {
            supervisor.memoryUsage(usage);
            long next = Deadlines.NEVER;
            for (WorkerRecord worker : List.copyOf(supervisor.workers)) {
                next = Deadlines.earlier(next, supervisor.check(worker, now, fx));
            }
            book.requeueDue(now);
            updateDegraded(now);
            next = Deadlines.earlier(next, autoscale(now, fx));
            supervisor.spawnDue(now, fx);
            dispatch(fx);
            stopIdleWorkersIfDrained(fx);
            updateHealth();
            next = Deadlines.earlier(next, book.nextRetryAt());
            next = Deadlines.earlier(next, supervisor.nextSpawnDue());
            if (state == PoolState.DEGRADED) {
                next = Deadlines.earlier(next, supervisor.nextRestartExpiry());
            }
            if (supervisor.memoryGateClosed() && supervisor.pendingSpawnCount() > 0) {
                next = Deadlines.earlier(next, now + config.heartbeatInterval().toNanos());
            }
            ctx.maintenancePlanned(next);
            return next;
        });
        return due == Deadlines.NEVER ? Long.MAX_VALUE : Math.max(0, due - now);
    }

    /** Automatic scaling at {@code now}; returns when it must look again. */
    private long autoscale(long now, Effects fx) {
        if (!state.acceptsTasks()) {
            return Deadlines.NEVER;
        }
        List<Autoscaler.GroupLoad> loads = scaling.loads(
                group -> book.queuedMatching(key -> group.mayServe((TaskRecord.RoutingKey) key)));
        if (loads.isEmpty()) {
            return Deadlines.NEVER;
        }
        scaling.apply(Autoscaler.decide(loads, now), fx);
        long due = Autoscaler.nextRetirementDue(loads);
        if (book.queued() > 0 && supervisor.mayGrow()) {
            due = Deadlines.earlier(due, now + AUTOSCALE_CHECK_NANOS);
        }
        return due;
    }

    /** What the maintenance thread read of the workers in /proc: their RSS, and which are stopped (SIGSTOP). */
    void recordSamples(Map<String, Long> rssByWorker, Set<String> stopped) {
        act(fx -> {
            for (WorkerRecord worker : List.copyOf(supervisor.workers)) { // recycling may add a replacement
                Long rss = rssByWorker.get(worker.id);
                if (rss != null && rss > 0) {
                    supervisor.recordRss(worker, rss, fx);
                }
                if (stopped.contains(worker.id)) {
                    supervisor.stoppedBeforeReady(worker, fx);
                }
            }
            dispatch(fx);
        });
    }

    /** Pids of the live workers, for RSS sampling. */
    Map<String, Long> workerPids() {
        return read(() -> {
            Map<String, Long> pids = new LinkedHashMap<>();
            for (WorkerRecord worker : supervisor.workers) {
                if (worker.pid > 0 && worker.state != WorkerState.DEAD) {
                    pids.put(worker.id, worker.pid);
                }
            }
            return pids;
        });
    }

    // ------------------------------------------------------------------ views

    /** The workers' health, DEGRADED besides while a durable store cannot be reached. */
    private PoolHealth health(long now) {
        PoolHealth workers = supervisor.health(state, now);
        PoolSnapshot.Store store = storeView.get();
        if (store.available()) {
            return workers;
        }
        List<String> alerts = new ArrayList<>(workers.alerts());
        alerts.add("the " + store.kind() + " task store cannot be reached: running tasks go on, new tasks are "
                + "refused, outcomes are recorded once it is back");
        return new PoolHealth(workers.status() == HealthStatus.CRITICAL ? HealthStatus.CRITICAL
                : HealthStatus.DEGRADED, alerts);
    }

    /** A durable store became reachable or unreachable: the health changes, and listeners hear of it. */
    void storeAvailabilityChanged() {
        act(fx -> updateHealth());
    }

    PoolHealth health() {
        return read(() -> health(ctx.now()));
    }

    List<WorkerSnapshot> workerSnapshots() {
        return read(() -> stats.workers(ctx.now()));
    }

    PoolSnapshot snapshot() {
        return read(() -> {
            long now = ctx.now();
            return stats.snapshot(state, startedAt, health(now), placement.balancerFailures(),
                    storeView.get(), now);
        });
    }

    /** A copy of the counters, for snapshots and tests. */
    Counters counters() {
        return read(() -> {
            Counters copy = counters.copy();
            copy.balancerFailures = placement.balancerFailures();
            return copy;
        });
    }

    /** The pool in one line, for error messages. */
    String describe() {
        return read(() -> stats.describe(state));
    }

    /** Class-data-sharing archives are per worker; a worker that exits lets go of its archive. */
    void workerExited(String workerId) {
        if (classDataSharing != null) {
            classDataSharing.workerExited(workerId);
        }
    }

    long oomKills() {
        return memory.oomKills();
    }
}
