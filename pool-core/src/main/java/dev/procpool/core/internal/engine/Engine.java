package dev.procpool.core.internal.engine;

import dev.procpool.FailureReason;
import dev.procpool.HealthStatus;
import dev.procpool.LoadBalancer;
import dev.procpool.PoolConfig;
import dev.procpool.PoolEvent;
import dev.procpool.PoolHealth;
import dev.procpool.PoolSnapshot;
import dev.procpool.PoolState;
import dev.procpool.TaskProgress;
import dev.procpool.TaskRejectedException;
import dev.procpool.TaskRequest;
import dev.procpool.TaskState;
import dev.procpool.WorkerSnapshot;
import dev.procpool.WorkerStartupException;
import dev.procpool.WorkerState;
import dev.procpool.core.internal.balance.Placement;
import dev.procpool.core.internal.events.EventBus;
import dev.procpool.core.internal.process.ClassDataSharing;
import dev.procpool.core.internal.process.ExitStatus;
import dev.procpool.core.internal.process.WorkerCommands;
import dev.procpool.core.internal.process.WorkerConnection;
import dev.procpool.core.internal.process.WorkerLauncher;
import dev.procpool.core.internal.process.WorkerProcess;
import dev.procpool.core.internal.protocol.Frame;
import dev.procpool.core.internal.protocol.FrameCodec;
import dev.procpool.core.internal.queue.TaskBook;
import dev.procpool.core.internal.retry.DeadLetters;
import dev.procpool.core.internal.scale.Autoscaler;
import dev.procpool.core.internal.supervise.Deadlines;
import dev.procpool.core.internal.supervise.MemoryProbe;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeSet;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.function.Consumer;
import java.util.function.DoubleSupplier;

/**
 * The one owner of scheduling state. Tasks, workers and the pool's state change only here, under one short lock,
 * in the order this class calls its rooms: the {@link TaskBook} (what waits), {@link Placement} (where a task goes),
 * the {@link Supervisor} (the workers), {@link Attempts} (each attempt's life), {@link Outputs} and {@link Stats}.
 * Callers (submitting threads, worker reader threads, the maintenance thread) hold the lock only to decide; the I/O
 * the decisions need is collected in {@link Effects} and carried out after the lock is released, in a
 * {@code finally}, whatever threw.
 *
 * <p>Maintenance ({@link #maintain(long)}) is a function of the time it is given and returns when it is next due;
 * jitter comes from an injected random source; so tests drive heartbeat checks, timeouts, backoff and recycling
 * with fake time and no sleeping.
 */
final class Engine {
    private static final Logger LOG = LoggerFactory.getLogger(Engine.class);
    /** While tasks wait and a group may grow, automatic scaling looks again this often. */
    private static final long AUTOSCALE_CHECK_NANOS = TimeUnit.MILLISECONDS.toNanos(50);

    /** What the engine works with besides its configuration; tests pass fakes. */
    record Collaborators(FrameCodec codec, WorkerLauncher launcher, MemoryProbe memory, DoubleSupplier random,
                         EventBus events, Clock clock, Executor slowEffects, Runnable wakeMaintenance) {
    }

    private final EngineContext ctx;
    private final PoolConfig config;
    private final WorkerLauncher launcher;
    private final MemoryProbe memory;
    /** Class-data-sharing archives for Java workers; null when switched off. */
    private final ClassDataSharing classDataSharing;
    private final Counters counters = new Counters();
    private final TaskBook<TaskRecord> book;
    private final Placement placement;
    private final WorkerStops stops;
    private final Supervisor supervisor;
    private final Outputs outputs;
    private final Attempts attempts;
    private final Stats stats;
    private final Condition terminated;
    private final Condition notFull;
    private int waitingSubmitters;
    private PoolState state = PoolState.NEW;
    private long sequence;
    private long startedAt;
    private PoolHealth health = new PoolHealth(HealthStatus.HEALTHY, List.of());

    Engine(PoolConfig config, Collaborators with, DeadLetters deadLetters) {
        this.config = config;
        this.ctx = new EngineContext(config, with.codec(), with.events(), with.clock(), with.random(),
                with.slowEffects(), with.wakeMaintenance());
        this.launcher = with.launcher();
        this.memory = with.memory();
        this.classDataSharing = config.classDataSharing() ? new ClassDataSharing(config.workerCacheDirectory()) : null;
        this.terminated = ctx.lock.newCondition();
        this.notFull = ctx.lock.newCondition();
        this.book = new TaskBook<>(config.queueCapacity(),
                config.priorityAgingStep().map(Duration::toNanos).orElse(0L));
        this.placement = new Placement(config.name());
        WorkerStops stops = new WorkerStops(ctx, memory);
        this.supervisor = new Supervisor(ctx, counters, memory, stops, this::launch, () -> state.acceptsTasks());
        this.outputs = new Outputs(ctx);
        this.attempts = new Attempts(ctx, counters, book, deadLetters, outputs, stops,
                () -> state.acceptsTasks() || state == PoolState.DRAINING);
        this.stats = new Stats(ctx, counters, supervisor, book);
        this.stops = stops;
    }

    /** Where timings go (a metrics binder); {@link Instruments#NONE} by default. */
    void instruments(Instruments instruments) {
        ctx.instruments(instruments);
    }

    // ------------------------------------------------------------------ lifecycle

    /** Launches every group's workers; returns them, to wait for their ready futures. */
    List<WorkerRecord> start() {
        Effects fx = new Effects(ctx);
        ctx.lock.lock();
        try {
            if (state != PoolState.NEW) {
                throw new IllegalStateException("the pool was started already");
            }
            startedAt = ctx.now();
            book.epoch(startedAt);
            return supervisor.startAll(fx);
        } finally {
            ctx.lock.unlock();
            fx.run();
        }
    }

    /** Marks the pool running once every worker is ready. */
    void markRunning() {
        Effects fx = new Effects(ctx);
        ctx.lock.lock();
        try {
            if (state == PoolState.NEW) {
                state = PoolState.RUNNING;
                if (ctx.listening()) {
                    ctx.publish(new PoolEvent.PoolStarted(config.name(), ctx.clock.instant(),
                            supervisor.workers.size()));
                }
                supervisor.topUpAll();
                ctx.wakeMaintenance();
            }
        } finally {
            ctx.lock.unlock();
            fx.run();
        }
    }

    PoolState state() {
        ctx.lock.lock();
        try {
            return state;
        } finally {
            ctx.lock.unlock();
        }
    }

    /** Stops accepting tasks; workers stop once no task is queued, waiting to retry, or running. */
    void shutdown() {
        Effects fx = new Effects(ctx);
        ctx.lock.lock();
        try {
            if (state.acceptsTasks() || state == PoolState.NEW) {
                state = PoolState.DRAINING;
                LOG.info("pool {} shutting down: {} queued, {} waiting to retry, {} running", config.name(),
                        book.queued(), book.retrying(), supervisor.runningCount());
            }
            stopIdleWorkersIfDrained(fx);
        } finally {
            ctx.lock.unlock();
            fx.run();
        }
    }

    /** Cancels everything and stops every worker; returns the requests that never started. */
    List<TaskRequest> shutdownNow() {
        Effects fx = new Effects(ctx);
        List<TaskRequest> neverStarted = new ArrayList<>();
        ctx.lock.lock();
        try {
            if (state != PoolState.TERMINATED) {
                state = PoolState.DRAINING;
            }
            for (TaskRecord task : book.drainQueue()) {
                if (task.attempts == 0) {
                    neverStarted.add(task.request);
                }
                cancel(task, "the pool was shut down before the task ran", fx);
            }
            for (TaskRecord task : book.waitingToRetry()) {
                cancel(task, "the pool was shut down while the task waited to be retried", fx);
            }
            for (WorkerRecord worker : supervisor.workers) {
                for (TaskRecord task : List.copyOf(worker.inFlight.values())) {
                    cancel(task, "the pool was shut down while the task ran", fx);
                }
                stops.begin(worker, null, "pool shut down", WorkerStops.Mode.CLOSE_INPUT, fx);
            }
            supervisor.cancelPendingSpawns();
            terminateIfDone();
        } finally {
            ctx.lock.unlock();
            fx.run();
        }
        return neverStarted;
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
        ctx.lock.lock();
        try {
            return supervisor.workers.stream().map(w -> w.process).filter(p -> p != null).toList();
        } finally {
            ctx.lock.unlock();
        }
    }

    // ------------------------------------------------------------------ tasks

    long nextSequence() {
        ctx.lock.lock();
        try {
            return ++sequence;
        } finally {
            ctx.lock.unlock();
        }
    }

    /**
     * Accepts a task or throws; dispatches it if a worker is free. On a full queue it waits for room when the pool
     * is configured to block, up to the configured time.
     */
    void submit(TaskRecord task) {
        Effects fx = new Effects(ctx);
        ctx.lock.lock();
        try {
            accept(task);
            dispatch(fx);
            if (book.queued() > 0 && supervisor.mayGrow()) {
                ctx.dueAt(ctx.now() + AUTOSCALE_CHECK_NANOS);
            }
        } catch (TaskRejectedException e) {
            counters.rejected(e.kind());
            throw e;
        } finally {
            ctx.lock.unlock();
            fx.run();
        }
    }

    private void accept(TaskRecord task) {
        checkAccepting(task);
        if (book.isFull()) {
            awaitRoom(task);
        }
        if (book.holds(task.id)) {
            throw new TaskRejectedException(TaskRejectedException.Kind.DUPLICATE_ID, "task id \"" + task.id
                    + "\" is already in use in pool \"" + config.name() + "\"; ids must be unique among the "
                    + "pool's unfinished tasks");
        }
        if (!supervisor.mayServe(task.routingKey)) {
            throw new TaskRejectedException(TaskRejectedException.Kind.NO_CAPABLE_WORKER, "no worker of pool \""
                    + config.name() + "\" serves task type \"" + task.type() + "\""
                    + (task.requiredCapabilities().isEmpty() ? ""
                    : " with capabilities " + new TreeSet<>(task.requiredCapabilities()))
                    + "; the workers serve " + supervisor.servedTypes() + " with capabilities "
                    + supervisor.capabilities());
        }
        task.routingKey = book.intern(task.routingKey);
        book.accept(task);
        counters.submitted++;
        if (ctx.listening()) {
            ctx.publish(new PoolEvent.TaskSubmitted(config.name(), ctx.clock.instant(), task.id, task.type(),
                    task.request.priority()));
        }
    }

    /** Counts a submission refused before it reached the engine (payload problems). */
    void countRejected(TaskRejectedException.Kind kind) {
        ctx.lock.lock();
        try {
            counters.rejected(kind);
        } finally {
            ctx.lock.unlock();
        }
    }

    private void checkAccepting(TaskRecord task) {
        if (!state.acceptsTasks()) {
            throw new TaskRejectedException(TaskRejectedException.Kind.SHUT_DOWN, "pool \"" + config.name()
                    + "\" does not accept tasks in state " + state + "; task " + task.id + " ("
                    + task.type() + ") was not queued");
        }
    }

    private void awaitRoom(TaskRecord task) {
        long waitNanos = config.blockWhenFull().map(Duration::toNanos).orElse(0L);
        waitingSubmitters++;
        try {
            while (book.isFull() && waitNanos > 0) {
                waitNanos = notFull.awaitNanos(waitNanos);
                checkAccepting(task);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new TaskRejectedException(TaskRejectedException.Kind.QUEUE_FULL, "interrupted while waiting for "
                    + "room in the queue of pool \"" + config.name() + "\"; task " + task.id + " was not queued", e);
        } finally {
            waitingSubmitters--;
        }
        if (book.isFull()) {
            throw new TaskRejectedException(TaskRejectedException.Kind.QUEUE_FULL, "the queue of pool \""
                    + config.name() + "\" is full (queueCapacity " + config.queueCapacity() + ")"
                    + config.blockWhenFull().map(d -> " and stayed full for " + d).orElse("")
                    + "; task " + task.id + " (" + task.type() + ") was not queued");
        }
    }

    /** A task left the queue: a submitter waiting for room may go on. */
    private void signalRoom() {
        if (waitingSubmitters > 0) {
            notFull.signal();
        }
    }

    /** Cancels a task; returns whether this call ended it. */
    boolean cancel(TaskRecord task) {
        Effects fx = new Effects(ctx);
        ctx.lock.lock();
        try {
            return cancel(task, "cancelled by the caller", fx);
        } finally {
            ctx.lock.unlock();
            fx.run();
        }
    }

    private boolean cancel(TaskRecord task, String why, Effects fx) {
        if (task.state.isTerminal()) {
            return false;
        }
        if (task.state == TaskState.RUNNING) {
            // The worker keeps the slot until it answers the cancel or is killed at cancelKillAt.
            task.cancelKillAt = ctx.now() + config.cancelGracePeriod().toNanos();
            fx.send(task.worker, ctx.codec.encodeCancel(task.id));
            ctx.dueAt(task.cancelKillAt);
        } else if (task.state == TaskState.RETRY_WAIT) {
            book.cancelRetry(task);
        } else {
            book.unqueue(task);
            signalRoom();
        }
        counters.cancelled++;
        attempts.finish(task, TaskState.CANCELLED, attempts.failure(task, FailureReason.CANCELLED, null, why), fx);
        return true;
    }

    /** Fills free worker slots from the queue, in run order, each task where {@link Placement} puts it. */
    private void dispatch(Effects fx) {
        if (book.queued() == 0) {
            return;
        }
        List<WorkerRecord> available = new ArrayList<>(supervisor.workers.size());
        while (book.queued() > 0) {
            available.clear();
            for (WorkerRecord worker : supervisor.workers) {
                if (worker.hasFreeSlot()) {
                    available.add(worker);
                }
            }
            if (available.isEmpty()) {
                return;
            }
            TaskRecord task = book.peekFirst(t -> anyCanRun(available, t));
            if (task == null) {
                return;
            }
            available.removeIf(w -> !w.canRun(task));
            WorkerRecord worker = (WorkerRecord) placement.choose(task, available, balancerFor(available),
                    w -> ((WorkerRecord) w).state == WorkerState.DEAD || ((WorkerRecord) w).isStopping());
            book.unqueue(task);
            signalRoom();
            attempts.start(task, worker, fx);
        }
    }

    private static boolean anyCanRun(List<WorkerRecord> workers, TaskRecord task) {
        for (WorkerRecord worker : workers) {
            if (worker.canRun(task)) {
                return true;
            }
        }
        return false;
    }

    /** The group's own balancer when every candidate is of one group, else the pool's. */
    private LoadBalancer balancerFor(List<WorkerRecord> candidates) {
        GroupRuntime group = candidates.get(0).group;
        for (WorkerRecord candidate : candidates) {
            if (candidate.group != group) {
                return config.loadBalancer();
            }
        }
        return group.config.loadBalancer().orElse(config.loadBalancer());
    }

    Optional<List<String>> taskOutput(String taskId, int maxLines) {
        ctx.lock.lock();
        try {
            return outputs.ofEndedTask(taskId, maxLines);
        } finally {
            ctx.lock.unlock();
        }
    }

    // ------------------------------------------------------------------ workers

    /** Runs on the slow-effects thread: starts a worker's process. */
    private void launch(WorkerRecord worker, boolean spare) {
        WorkerProcess.LaunchSpec spec = WorkerCommands.launchSpec(config, worker.group.config, worker.id,
                classDataSharing, spare);
        try {
            launcher.launch(worker.id, spec, new WorkerEvents(this, worker));
        } catch (IOException | RuntimeException e) {
            Effects fx = new Effects(ctx);
            ctx.lock.lock();
            try {
                String problem = "cannot start worker " + worker.id + " of group \"" + worker.group.name()
                        + "\" with command " + spec.argv() + ": " + e.getMessage();
                LOG.error(problem);
                worker.state = WorkerState.DEAD;
                worker.stopCause = FailureReason.STARTUP_FAILURE;
                supervisor.workers.remove(worker);
                fx.quick(() -> worker.ready.completeExceptionally(new WorkerStartupException(problem, e)));
                afterWorkerGone(worker, fx);
            } finally {
                ctx.lock.unlock();
                fx.run();
            }
        }
    }

    /** The worker's process exists; returns whether it must be stopped at once (it was stopped meanwhile). */
    boolean launched(WorkerRecord worker, WorkerConnection process) {
        ctx.lock.lock();
        try {
            worker.process = process;
            worker.pid = process.pid();
            return worker.isStopping();
        } finally {
            ctx.lock.unlock();
        }
    }

    /** A burst of lines from one worker, handled under one lock; the slots it frees are filled in one pass. */
    void frames(WorkerRecord worker, List<Frame> frames) {
        Effects fx = new Effects(ctx);
        RuntimeException bug = null;
        ctx.lock.lock();
        try {
            for (Frame frame : frames) {
                try {
                    frame(worker, frame, fx);
                } catch (RuntimeException e) {
                    // a bug: the other frames of the burst are still handled, and their effects carried out, before
                    // the reader thread stops the worker for it
                    if (bug == null) {
                        bug = e;
                    } else {
                        bug.addSuppressed(e);
                    }
                }
            }
            dispatch(fx);
            stopIdleWorkersIfDrained(fx);
        } finally {
            ctx.lock.unlock();
            fx.run();
        }
        if (bug != null) {
            throw bug;
        }
    }

    private void frame(WorkerRecord worker, Frame frame, Effects fx) {
        long now = ctx.now();
        if (!(frame instanceof Frame.NotAFrame)) {
            worker.lastFrameAt = now;
        }
        if (worker.state == WorkerState.STARTING && !(frame instanceof Frame.Ready)
                && !(frame instanceof Frame.Heartbeat) && !(frame instanceof Frame.NotAFrame)
                && !(frame instanceof Frame.Log)) {
            stops.begin(worker, FailureReason.PROTOCOL_ERROR, "sent a " + frame.getClass().getSimpleName()
                    + " frame before ready", WorkerStops.Mode.KILL, fx);
            return;
        }
        if (frame instanceof Frame.Result result) {
            answered(worker, result.id(), result, now, fx);
        } else if (frame instanceof Frame.Error error) {
            answered(worker, error.id(), error, now, fx);
        } else if (frame instanceof Frame.Heartbeat heartbeat) {
            if (heartbeat.rssBytes() > 0) {
                supervisor.recordRss(worker, heartbeat.rssBytes(), fx);
            }
            worker.heapUsedBytes = heartbeat.heapUsedBytes();
        } else if (frame instanceof Frame.Ready ready) {
            if (supervisor.onReady(worker, ready, now, fx)) {
                updateHealth();
            }
        } else if (frame instanceof Frame.NotAFrame line) {
            outputs.onNotAFrame(worker, line);
        } else if (frame instanceof Frame.Log log) {
            outputs.onLog(worker, log, fx);
        } else if (frame instanceof Frame.Progress progress) {
            progress(worker, progress, fx);
        } else {
            LOG.debug("worker {} sent a frame this host ignores: {}", worker.id, frame);
        }
    }

    private void answered(WorkerRecord worker, String taskId, Frame answer, long now, Effects fx) {
        if (attempts.onAnswer(worker, taskId, answer, fx)) {
            supervisor.retireIfDue(worker, now, fx);
        }
    }

    private void progress(WorkerRecord worker, Frame.Progress progress, Effects fx) {
        TaskRecord task = worker.inFlight.get(progress.id());
        if (task == null || task.progressListeners.isEmpty() || task.state.isTerminal()) {
            return;
        }
        TaskProgress report = new TaskProgress(task.id, progress.fraction(),
                progress.message() == null ? "" : progress.message());
        List<Consumer<TaskProgress>> listeners = task.progressListeners;
        fx.quick(() -> listeners.forEach(listener -> {
            try {
                listener.accept(report);
            } catch (Exception | LinkageError | AssertionError e) {
                // the caller's code: it must not take the worker's reader thread down
                LOG.warn("progress listener of task {} failed", task.id, e);
            }
        }));
    }

    /** A stderr line: kept with the task it was written during, and logged with the pool, worker and task. */
    void stderr(WorkerRecord worker, String line) {
        String taskId;
        ctx.lock.lock();
        try {
            taskId = outputs.onStderr(worker, line);
        } finally {
            ctx.lock.unlock();
        }
        WorkerOutput.log(config.name(), worker.id, taskId, "INFO", line);
    }

    /** The worker broke the protocol in a way that is fatal to it. */
    void protocolError(WorkerRecord worker, String problem) {
        Effects fx = new Effects(ctx);
        ctx.lock.lock();
        try {
            if (!worker.isStopping()) {
                LOG.warn("worker {} broke the protocol: {}; killing it", worker, problem);
            }
            stops.begin(worker, FailureReason.PROTOCOL_ERROR, problem, WorkerStops.Mode.KILL, fx);
        } finally {
            ctx.lock.unlock();
            fx.run();
        }
    }

    /** A worker's process has exited: its tasks fail (and may be retried), and it is replaced if needed. */
    void exited(WorkerRecord worker, ExitStatus status, long oomKills) {
        Effects fx = new Effects(ctx);
        ctx.lock.lock();
        try {
            boolean wasStarting = worker.state == WorkerState.STARTING;
            FailureReason reason = supervisor.onExit(worker, status, oomKills);
            String detail = "worker " + worker.id + " (pid " + worker.pid + ") " + status
                    + (worker.stopDetail != null ? ": " + worker.stopDetail : "");
            for (TaskRecord task : List.copyOf(worker.inFlight.values())) {
                attempts.release(task, worker);
                if (!task.state.isTerminal()) {
                    // Only the task that timed out fails TIMEOUT; others on the same worker lost their worker.
                    FailureReason taskReason = task.timedOut ? FailureReason.TIMEOUT
                            : reason == FailureReason.TIMEOUT ? FailureReason.WORKER_CRASHED : reason;
                    attempts.failed(task, worker, taskReason, detail, status, null, true, fx);
                }
            }
            if (wasStarting) {
                String tail = worker.process == null ? "(no output)" : worker.process.output().text();
                String problem = "worker " + worker.id + " of group \"" + worker.group.name() + "\" (command "
                        + WorkerCommands.argv(worker.group.config.spec()) + ") "
                        + (worker.stopDetail != null ? worker.stopDetail + "; it " : "") + "ended before it was ready: "
                        + status + "; stderr tail:\n" + tail;
                fx.quick(() -> worker.ready.completeExceptionally(new WorkerStartupException(problem)));
            }
            afterWorkerGone(worker, fx);
        } finally {
            ctx.lock.unlock();
            fx.run();
        }
    }

    private void afterWorkerGone(WorkerRecord worker, Effects fx) {
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
        Effects fx = new Effects(ctx);
        ctx.lock.lock();
        try {
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
            supervisor.scale(group, delta, delta > 0 ? "scaled up by the application"
                    : "scaled down by the application", fx);
            dispatch(fx);
        } finally {
            ctx.lock.unlock();
            fx.run();
        }
    }

    // ------------------------------------------------------------------ the pool's state

    private void updateDegraded(long now) {
        boolean over = supervisor.restartsOverLimit(now);
        if (over && state == PoolState.RUNNING) {
            state = PoolState.DEGRADED;
            LOG.error("pool {} is DEGRADED: more than {} worker restarts within {}; replacing workers only every {}",
                    config.name(), config.restartPolicy().maxRestarts(), config.restartPolicy().window(),
                    config.restartPolicy().maxDelay());
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

    private void updateHealth() {
        PoolHealth now = supervisor.health(state, ctx.now());
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
        Effects fx = new Effects(ctx);
        long due = Deadlines.NEVER;
        ctx.lock.lock();
        try {
            supervisor.memoryUsage(usage);
            for (WorkerRecord worker : List.copyOf(supervisor.workers)) {
                due = Deadlines.earlier(due, supervisor.check(worker, now, fx));
            }
            book.requeueDue(now);
            updateDegraded(now);
            due = Deadlines.earlier(due, autoscale(now, fx));
            supervisor.spawnDue(now, fx);
            dispatch(fx);
            stopIdleWorkersIfDrained(fx);
            updateHealth();
            due = Deadlines.earlier(due, book.nextRetryAt());
            due = Deadlines.earlier(due, supervisor.nextSpawnDue());
            if (state == PoolState.DEGRADED) {
                due = Deadlines.earlier(due, supervisor.nextRestartExpiry());
            }
            if (supervisor.memoryGateClosed() && supervisor.pendingSpawnCount() > 0) {
                due = Deadlines.earlier(due, now + config.heartbeatInterval().toNanos());
            }
            ctx.maintenancePlanned(due);
        } finally {
            ctx.lock.unlock();
            fx.run();
        }
        return due == Deadlines.NEVER ? Long.MAX_VALUE : Math.max(0, due - now);
    }

    /** Automatic scaling at {@code now}; returns when it must look again. */
    private long autoscale(long now, Effects fx) {
        if (!state.acceptsTasks()) {
            return Deadlines.NEVER;
        }
        List<Autoscaler.GroupLoad> loads = supervisor.loads(
                group -> book.queuedMatching(key -> group.mayServe((TaskRecord.RoutingKey) key)));
        if (loads.isEmpty()) {
            return Deadlines.NEVER;
        }
        supervisor.apply(Autoscaler.decide(loads, now), fx);
        long due = Autoscaler.nextRetirementDue(loads);
        if (book.queued() > 0 && supervisor.mayGrow()) {
            due = Deadlines.earlier(due, now + AUTOSCALE_CHECK_NANOS);
        }
        return due;
    }

    /** Readings of worker RSS taken by the maintenance thread from /proc. */
    void recordRss(Map<String, Long> rssByWorker) {
        Effects fx = new Effects(ctx);
        ctx.lock.lock();
        try {
            for (WorkerRecord worker : List.copyOf(supervisor.workers)) { // recycling may add a replacement
                Long rss = rssByWorker.get(worker.id);
                if (rss != null && rss > 0) {
                    supervisor.recordRss(worker, rss, fx);
                }
            }
            dispatch(fx);
        } finally {
            ctx.lock.unlock();
            fx.run();
        }
    }

    /** Pids of the live workers, for RSS sampling. */
    Map<String, Long> workerPids() {
        ctx.lock.lock();
        try {
            Map<String, Long> pids = new LinkedHashMap<>();
            for (WorkerRecord worker : supervisor.workers) {
                if (worker.pid > 0 && worker.state != WorkerState.DEAD) {
                    pids.put(worker.id, worker.pid);
                }
            }
            return pids;
        } finally {
            ctx.lock.unlock();
        }
    }

    // ------------------------------------------------------------------ views

    PoolHealth health() {
        ctx.lock.lock();
        try {
            return supervisor.health(state, ctx.now());
        } finally {
            ctx.lock.unlock();
        }
    }

    List<WorkerSnapshot> workerSnapshots() {
        ctx.lock.lock();
        try {
            return stats.workers(ctx.now());
        } finally {
            ctx.lock.unlock();
        }
    }

    PoolSnapshot snapshot() {
        ctx.lock.lock();
        try {
            long now = ctx.now();
            return stats.snapshot(state, startedAt, supervisor.health(state, now), now);
        } finally {
            ctx.lock.unlock();
        }
    }

    /** A copy of the counters, for snapshots and tests. */
    Counters counters() {
        ctx.lock.lock();
        try {
            Counters copy = counters.copy();
            copy.balancerFailures = placement.balancerFailures();
            return copy;
        } finally {
            ctx.lock.unlock();
        }
    }

    /** The pool in one line, for error messages. */
    String describe() {
        ctx.lock.lock();
        try {
            return stats.describe(state);
        } finally {
            ctx.lock.unlock();
        }
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
