package dev.procpool.core.internal.engine;

import dev.procpool.AttemptRecord;
import dev.procpool.DeadLetter;
import dev.procpool.FailureReason;
import dev.procpool.HealthStatus;
import dev.procpool.LoadBalancer;
import dev.procpool.PoolConfig;
import dev.procpool.PoolEvent;
import dev.procpool.PoolHealth;
import dev.procpool.PoolState;
import dev.procpool.RemoteError;
import dev.procpool.TaskFailedException;
import dev.procpool.TaskRejectedException;
import dev.procpool.TaskRequest;
import dev.procpool.TaskState;
import dev.procpool.WorkerGroup;
import dev.procpool.WorkerSnapshot;
import dev.procpool.WorkerSpec;
import dev.procpool.WorkerStartupException;
import dev.procpool.WorkerState;
import dev.procpool.core.internal.events.EventBus;
import dev.procpool.core.internal.supervise.MemoryProbe;
import dev.procpool.core.internal.process.WorkerCommands;
import dev.procpool.core.internal.process.ClassDataSharing;
import dev.procpool.core.internal.process.ExitStatus;
import dev.procpool.core.internal.process.WorkerConnection;
import dev.procpool.core.internal.process.WorkerLauncher;
import dev.procpool.core.internal.process.WorkerProcess;
import dev.procpool.core.internal.protocol.Frame;
import dev.procpool.core.internal.protocol.FrameCodec;
import dev.procpool.core.internal.queue.RoutedQueue;
import dev.procpool.core.internal.retry.Backoff;
import dev.procpool.core.internal.retry.DeadLetters;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.DoubleSupplier;

/**
 * The one owner of scheduling state: the queue, the workers' states and the tasks' states change only here, under
 * one short lock. Callers (submitting threads, worker reader threads, the maintenance thread) hold the lock only to
 * decide; the I/O those decisions need (writing frames, launching and signalling processes, completing futures)
 * is collected in {@link Effects} and carried out after the lock is released.
 *
 * <p>Maintenance ({@link #maintain(long)}) is a function of the time it is given, and jitter comes from an injected
 * random source, so tests drive heartbeat checks, timeouts, backoff and recycling with fake time and no sleeping.
 */
final class Dispatcher {
    private static final Logger LOG = LoggerFactory.getLogger(Dispatcher.class);
    /** How long a zombie JVM gets to print the thread dump asked for with SIGQUIT before SIGTERM. */
    private static final long THREAD_DUMP_WAIT_NANOS = TimeUnit.MILLISECONDS.toNanos(500);
    /** The most lines of task-thread stacks kept with a failed attempt. */
    private static final int THREAD_DUMP_LINES = 80;
    /** Affinity keys remembered at most; beyond it the least recently used are forgotten. */
    static final int MAX_AFFINITY_KEYS = 65_536;
    /** The longest output line kept with a task. */
    static final int MAX_LINE_CHARS = 4000;

    /** What the dispatcher works with besides its configuration; tests pass fakes. */
    record Collaborators(FrameCodec codec, WorkerLauncher launcher, MemoryProbe memory, DoubleSupplier random,
                         EventBus events, Clock clock, Runnable wakeMaintenance) {
    }

    private final PoolConfig config;
    private final FrameCodec codec;
    private final WorkerLauncher launcher;
    private final MemoryProbe memory;
    private final DoubleSupplier random;
    private final EventBus events;
    private final Clock clock;
    private final Runnable wakeMaintenance;
    private final DeadLetters deadLetters;

    private final ReentrantLock lock = new ReentrantLock();
    private final Condition terminated = lock.newCondition();
    private final Condition notFull = lock.newCondition();
    private final RoutedQueue<TaskRecord> queue = new RoutedQueue<>();
    /** Affinity key → the worker that last ran it; bounded, least recently used first out. */
    private final Map<String, WorkerRecord> affinity = new LinkedHashMap<>(256, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, WorkerRecord> eldest) {
            return size() > MAX_AFFINITY_KEYS;
        }
    };
    private int waitingSubmitters;
    /** Tasks served by workers that have exited, for the reuse rate. */
    private long servedByDeadWorkers;
    private final PriorityQueue<TaskRecord> retryWaiting =
            new PriorityQueue<>(Comparator.comparingLong((TaskRecord t) -> t.retryAt).thenComparingLong(t -> t.sequence));
    /** Tasks accepted and not yet released: not terminal, or terminal but still held by a worker. */
    private final Map<String, TaskRecord> liveTasks = new HashMap<>();
    /** Shared routing keys, bounded: task types are few in practice, but nothing stops a caller from using many. */
    private final Map<TaskRecord.RoutingKey, TaskRecord.RoutingKey> routingKeys = new HashMap<>();
    private static final int MAX_SHARED_ROUTING_KEYS = 1024;
    /** Set while a burst of frames from one worker is handled: dispatching waits for the end of the burst. */
    private boolean answersArriving;
    private final List<WorkerRecord> workers = new ArrayList<>();
    private final Map<String, GroupRuntime> groups = new LinkedHashMap<>();
    private PoolState state = PoolState.NEW;
    private long sequence;
    private int workerCounter;
    private long startedAt;
    private long oomKillsSeen = -1;
    private MemoryProbe.Usage lastMemory;
    private boolean memoryGateClosed;
    private PoolHealth health = new PoolHealth(HealthStatus.HEALTHY, List.of());
    private final Counters counters = new Counters();
    private final OutputStore outputs;
    /** Class-data-sharing archives for Java workers; null when switched off. */
    /** {@link PoolConfig#priorityAgingStep()} in nanoseconds; 0 without aging. */
    private final long agingStepNanos;
    private final ClassDataSharing classDataSharing;
    private volatile Instruments instruments = Instruments.NONE;

    /** Running totals, guarded by the lock. */
    static final class Counters {
        long submitted;
        long succeeded;
        long retried;
        long deadLettered;
        long failed;
        long cancelled;
        long workersStarted;
        long restarts;
        long zombies;
        long runNanos;
        long runs;
        long waitNanos;
        long waits;
        final Map<FailureReason, Long> failuresByReason = new java.util.EnumMap<>(FailureReason.class);
        final Map<FailureReason, Long> restartsByReason = new java.util.EnumMap<>(FailureReason.class);
        final Map<TaskRejectedException.Kind, Long> rejectedByKind =
                new java.util.EnumMap<>(TaskRejectedException.Kind.class);

        long rejected() {
            return rejectedByKind.values().stream().mapToLong(Long::longValue).sum();
        }
    }

    Dispatcher(PoolConfig config, Collaborators with, DeadLetters deadLetters) {
        this.config = config;
        this.agingStepNanos = config.priorityAgingStep().map(Duration::toNanos).orElse(0L);
        this.codec = with.codec();
        this.launcher = with.launcher();
        this.memory = with.memory();
        this.random = with.random();
        this.events = with.events();
        this.clock = with.clock();
        this.wakeMaintenance = with.wakeMaintenance();
        this.deadLetters = deadLetters;
        this.outputs = new OutputStore(config.outputRetention().toNanos());
        this.classDataSharing = config.classDataSharing() ? new ClassDataSharing(config.workerCacheDirectory()) : null;
        for (WorkerGroup group : config.groups()) {
            groups.put(group.name(), new GroupRuntime(group, config.restartPolicy()));
        }
    }

    private long now() {
        return config.ticker().read();
    }

    /** Where timings go (a metrics binder); {@link Instruments#NONE} by default. */
    void instruments(Instruments instruments) {
        this.instruments = instruments;
    }

    private void publish(PoolEvent event) {
        events.publish(event);
    }

    private boolean listening() {
        return events.hasListeners();
    }

    // ------------------------------------------------------------------ lifecycle

    /** Launches every group's workers; returns them, to wait for their ready futures. */
    List<WorkerRecord> start() {
        Effects fx = new Effects();
        List<WorkerRecord> started = new ArrayList<>();
        lock.lock();
        try {
            if (state != PoolState.NEW) {
                throw new IllegalStateException("the pool was started already");
            }
            startedAt = now();
            oomKillsSeen = memory.oomKills();
            for (GroupRuntime group : groups.values()) {
                for (int i = 0; i < group.target + group.config.hotSpares(); i++) {
                    started.add(spawnLocked(group, fx));
                }
            }
        } finally {
            lock.unlock();
        }
        fx.run();
        return started;
    }

    /** Marks the pool running once every worker is ready. */
    void markRunning() {
        lock.lock();
        try {
            if (state == PoolState.NEW) {
                state = PoolState.RUNNING;
                if (listening()) {
                    publish(new PoolEvent.PoolStarted(config.name(), clock.instant(), workers.size()));
                }
                // A worker that was ready but died while the others started is replaced now.
                long now = now();
                for (GroupRuntime group : groups.values()) {
                    topUpLocked(group, now);
                }
                wakeMaintenance.run();
            }
        } finally {
            lock.unlock();
        }
    }

    PoolState state() {
        lock.lock();
        try {
            return state;
        } finally {
            lock.unlock();
        }
    }

    /** Stops accepting tasks; workers stop once no task is queued, waiting to retry, or running. */
    void shutdown() {
        Effects fx = new Effects();
        lock.lock();
        try {
            if (state.acceptsTasks() || state == PoolState.NEW) {
                state = PoolState.DRAINING;
                LOG.info("pool {} shutting down: {} queued, {} waiting to retry, {} running", config.name(),
                        queue.size(), retryWaiting.size(), runningCount());
            }
            stopIdleWorkersIfDrained(fx);
        } finally {
            lock.unlock();
        }
        fx.run();
    }

    /** Cancels everything and stops every worker; returns the requests that never started. */
    List<TaskRequest> shutdownNow() {
        Effects fx = new Effects();
        List<TaskRequest> neverStarted = new ArrayList<>();
        lock.lock();
        try {
            if (state != PoolState.TERMINATED) {
                state = PoolState.DRAINING;
            }
            for (TaskRecord task : queue.drain()) {
                if (task.attempts == 0) {
                    neverStarted.add(task.request);
                }
                cancelLocked(task, "the pool was shut down before the task ran", fx);
            }
            for (TaskRecord task : List.copyOf(retryWaiting)) {
                cancelLocked(task, "the pool was shut down while the task waited to be retried", fx);
            }
            for (WorkerRecord worker : workers) {
                for (TaskRecord task : List.copyOf(worker.inFlight.values())) {
                    cancelLocked(task, "the pool was shut down while the task ran", fx);
                }
                beginStopLocked(worker, null, "pool shut down", StopMode.CLOSE_INPUT, fx);
            }
            for (GroupRuntime group : groups.values()) {
                group.pendingSpawns.clear();
            }
            terminateIfDoneLocked();
        } finally {
            lock.unlock();
        }
        fx.run();
        return neverStarted;
    }

    boolean awaitTermination(long nanos) throws InterruptedException {
        lock.lock();
        try {
            while (state != PoolState.TERMINATED) {
                if (nanos <= 0) {
                    return false;
                }
                nanos = terminated.awaitNanos(nanos);
            }
            return true;
        } finally {
            lock.unlock();
        }
    }

    /** The connections of the current workers. */
    List<WorkerConnection> connections() {
        lock.lock();
        try {
            return workers.stream().map(w -> w.process).filter(p -> p != null).toList();
        } finally {
            lock.unlock();
        }
    }

    // ------------------------------------------------------------------ tasks

    /**
     * Accepts a task or throws; dispatches it if a worker is free. On a full queue it waits for room when the pool
     * is configured to block, up to the configured time.
     */
    void submit(TaskRecord task) {
        Effects fx = new Effects();
        lock.lock();
        try {
            submitLocked(task, fx);
        } catch (TaskRejectedException e) {
            counters.rejectedByKind.merge(e.kind(), 1L, Long::sum);
            throw e;
        } finally {
            lock.unlock();
        }
        fx.run();
    }

    /** Counts a submission refused before it reached the dispatcher (payload problems). */
    void countRejected(TaskRejectedException.Kind kind) {
        lock.lock();
        try {
            counters.rejectedByKind.merge(kind, 1L, Long::sum);
        } finally {
            lock.unlock();
        }
    }

    private void submitLocked(TaskRecord task, Effects fx) {
        checkAcceptingLocked(task);
        if (queue.size() + retryWaiting.size() >= config.queueCapacity()) {
            awaitRoomLocked(task);
        }
        if (liveTasks.containsKey(task.id)) {
            throw new TaskRejectedException(TaskRejectedException.Kind.DUPLICATE_ID, "task id \"" + task.id
                    + "\" is already in use in pool \"" + config.name() + "\"; ids must be unique among the "
                    + "pool's unfinished tasks");
        }
        if (!mayBeServedLocked(task.routingKey)) {
            throw new TaskRejectedException(TaskRejectedException.Kind.NO_CAPABLE_WORKER, "no worker of pool \""
                    + config.name() + "\" serves task type \"" + task.type() + "\""
                    + (task.requiredCapabilities().isEmpty() ? ""
                    : " with capabilities " + new TreeSet<>(task.requiredCapabilities()))
                    + "; the workers serve " + servedTypesLocked() + " with capabilities "
                    + capabilitiesLocked());
        }
        task.routingKey = internLocked(task.routingKey);
        liveTasks.put(task.id, task);
        counters.submitted++;
        enqueueLocked(task, task.submittedAt);
        if (listening()) {
            publish(new PoolEvent.TaskSubmitted(config.name(), clock.instant(), task.id, task.type(),
                    task.request.priority()));
        }
        dispatchLocked(fx);
    }

    /** One shared instance per routing key: queued tasks hold a reference instead of a copy each. */
    private TaskRecord.RoutingKey internLocked(TaskRecord.RoutingKey key) {
        TaskRecord.RoutingKey shared = routingKeys.get(key);
        if (shared != null) {
            return shared;
        }
        if (routingKeys.size() < MAX_SHARED_ROUTING_KEYS) {
            routingKeys.put(key, key);
        }
        return key;
    }

    private boolean mayBeServedLocked(TaskRecord.RoutingKey key) {
        for (GroupRuntime group : groups.values()) {
            if (group.mayServe(key)) {
                return true;
            }
        }
        return false;
    }

    private void checkAcceptingLocked(TaskRecord task) {
        if (!state.acceptsTasks()) {
            throw new TaskRejectedException(TaskRejectedException.Kind.SHUT_DOWN, "pool \"" + config.name()
                    + "\" does not accept tasks in state " + state + "; task " + task.id + " ("
                    + task.type() + ") was not queued");
        }
    }

    private void awaitRoomLocked(TaskRecord task) {
        long waitNanos = config.blockWhenFull().map(Duration::toNanos).orElse(0L);
        waitingSubmitters++;
        try {
            while (queue.size() + retryWaiting.size() >= config.queueCapacity() && waitNanos > 0) {
                waitNanos = notFull.awaitNanos(waitNanos);
                checkAcceptingLocked(task);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new TaskRejectedException(TaskRejectedException.Kind.QUEUE_FULL, "interrupted while waiting for "
                    + "room in the queue of pool \"" + config.name() + "\"; task " + task.id + " was not queued", e);
        } finally {
            waitingSubmitters--;
        }
        if (queue.size() + retryWaiting.size() >= config.queueCapacity()) {
            throw new TaskRejectedException(TaskRejectedException.Kind.QUEUE_FULL, "the queue of pool \""
                    + config.name() + "\" is full (queueCapacity " + config.queueCapacity() + ")"
                    + config.blockWhenFull().map(d -> " and stayed full for " + d).orElse("")
                    + "; task " + task.id + " (" + task.type() + ") was not queued");
        }
    }

    /** Queues a task; with aging its rank is its priority lifted by the time it has waited since submission. */
    private void enqueueLocked(TaskRecord task, long now) {
        task.state = TaskState.QUEUED;
        task.queuedAt = now;
        task.rank = agingStepNanos > 0
                ? task.request.priority() * agingStepNanos + (task.submittedAt - startedAt)
                : task.request.priority();
        queue.add(task);
    }

    /** A task left the queue: a submitter waiting for room may go on. */
    private void signalRoomLocked() {
        if (waitingSubmitters > 0) {
            notFull.signal();
        }
    }

    long nextSequence() {
        lock.lock();
        try {
            return ++sequence;
        } finally {
            lock.unlock();
        }
    }

    /** Cancels a task; returns whether this call ended it. */
    boolean cancel(TaskRecord task) {
        Effects fx = new Effects();
        boolean cancelled;
        lock.lock();
        try {
            cancelled = cancelLocked(task, "cancelled by the caller", fx);
        } finally {
            lock.unlock();
        }
        fx.run();
        return cancelled;
    }

    private boolean cancelLocked(TaskRecord task, String why, Effects fx) {
        if (task.state.isTerminal()) {
            return false;
        }
        if (task.state == TaskState.RUNNING) {
            // The worker keeps the slot until it answers the cancel or is killed at cancelKillAt.
            task.cancelKillAt = now() + config.cancelGracePeriod().toNanos();
            fx.send(task.worker, codec.encodeCancel(task.id));
            wakeMaintenance.run();
        } else if (task.state == TaskState.RETRY_WAIT) {
            retryWaiting.remove(task);
        } else {
            queue.remove(task);
            signalRoomLocked();
        }
        counters.cancelled++;
        finishLocked(task, TaskState.CANCELLED, failure(task, FailureReason.CANCELLED, null, why), fx);
        return true;
    }

    private void dispatchLocked(Effects fx) {
        if (queue.isEmpty()) {
            return;
        }
        List<WorkerRecord> available = new ArrayList<>(workers.size());
        while (!queue.isEmpty()) {
            available.clear();
            for (WorkerRecord worker : workers) {
                if (worker.hasFreeSlot()) {
                    available.add(worker);
                }
            }
            if (available.isEmpty()) {
                return;
            }
            TaskRecord task = queue.peekFirst(t -> anyCanRun(available, t));
            if (task == null) {
                return;
            }
            available.removeIf(w -> !w.canRun(task));
            WorkerRecord worker = chooseLocked(task, available);
            queue.remove(task);
            signalRoomLocked();
            startAttemptLocked(task, worker, fx);
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

    /** Affinity first (the key's worker, if it is among the candidates), then the load balancer. */
    private WorkerRecord chooseLocked(TaskRecord task, List<WorkerRecord> candidates) {
        String key = task.affinityKey();
        if (key != null) {
            WorkerRecord preferred = affinity.get(key);
            if (preferred != null && candidates.contains(preferred)) {
                return preferred;
            }
        }
        WorkerRecord chosen;
        if (candidates.size() == 1) {
            chosen = candidates.get(0);
        } else {
            GroupRuntime group = candidates.get(0).group;
            boolean oneGroup = true;
            for (WorkerRecord candidate : candidates) {
                oneGroup &= candidate.group == group;
            }
            LoadBalancer balancer = oneGroup ? group.config.loadBalancer().orElse(config.loadBalancer())
                    : config.loadBalancer();
            LoadBalancer.WorkerView view = balancer.choose(task, candidates);
            chosen = candidates.contains(view) ? (WorkerRecord) view : candidates.get(0);
        }
        if (key != null) {
            WorkerRecord previous = affinity.get(key);
            if (previous == null || previous.state == WorkerState.DEAD || previous.isStopping()) {
                affinity.put(key, chosen); // the key's worker is gone: it moves to the new one
            }
        }
        return chosen;
    }

    private void startAttemptLocked(TaskRecord task, WorkerRecord worker, Effects fx) {
        long now = now();
        task.attempts++;
        task.state = TaskState.RUNNING;
        task.worker = worker;
        task.lastWorkerPid = worker.pid;
        task.dispatchedAt = now;
        task.frameEnd = 0; // set once the frame is written; an answer before that tells the writer nothing
        task.timedOut = false;
        task.peakRssBytes = worker.rssBytes;
        task.clearOutput();
        counters.waitNanos += now - task.queuedAt;
        counters.waits++;
        instruments.taskDispatched(now - task.queuedAt);
        task.deadline = task.timeoutNanos > 0 ? now + task.timeoutNanos : Long.MAX_VALUE;
        worker.inFlight.put(task.id, task);
        worker.state = WorkerState.BUSY;
        long timeoutMs = task.timeoutNanos > 0 ? Math.max(1, TimeUnit.NANOSECONDS.toMillis(task.timeoutNanos)) : 0;
        fx.sendTask(worker, task, task.attempts, timeoutMs);
        if (listening()) {
            publish(new PoolEvent.TaskStarted(config.name(), clock.instant(), task.id, task.type(), worker.id,
                    task.attempts));
        }
    }

    /** Moves a task to a terminal state and schedules its future's completion. */
    private void finishLocked(TaskRecord task, TaskState terminal, Object outcome, Effects fx) {
        task.state = terminal;
        if (task.hasOutput()) {
            List<String> lines = task.outputLines();
            outputs.put(task.id, lines, now());
            long pid = task.lastWorkerPid;
            config.taskLogDirectory().ifPresent(dir -> fx.add(() -> TaskLogs.write(dir, task.id, pid, lines)));
        }
        if (task.worker == null || !task.worker.inFlight.containsKey(task.id)) {
            liveTasks.remove(task.id);
        }
        fx.complete(task, outcome);
    }

    /** The task has left its worker (answered, or the worker died). */
    private void releaseFromWorkerLocked(TaskRecord task, WorkerRecord worker) {
        worker.inFlight.remove(task.id);
        task.worker = null;
        task.cancelKillAt = Long.MAX_VALUE;
        if (task.state.isTerminal()) {
            liveTasks.remove(task.id);
        }
        if (worker.inFlight.isEmpty() && worker.state == WorkerState.BUSY) {
            worker.state = WorkerState.IDLE;
            worker.idleSince = now();
        }
    }

    /**
     * An attempt failed: retry it after a backoff if the policy allows, or end the task in the dead-letter queue.
     */
    private void attemptFailedLocked(TaskRecord task, WorkerRecord worker, FailureReason reason, String detail,
                                     ExitStatus exit, RemoteError remote, boolean retryable, Effects fx) {
        long now = now();
        WorkerConnection process = worker.process;
        task.addFailedAttempt(new AttemptRecord(task.attempts, worker.id, worker.pid, reason, detail,
                exit == null ? null : exit.code(), exit == null || exit.signal() == 0 ? null : exit.signal(),
                Duration.ofNanos(now - task.dispatchedAt), Math.max(task.peakRssBytes, worker.rssBytes),
                forensicOutput(worker), remote));
        counters.failuresByReason.merge(reason, 1L, Long::sum);
        instruments.attemptEnded(now - task.dispatchedAt, false);
        boolean retry = task.retryPolicy.shouldRetry(reason, task.attempts, retryable)
                && (state.acceptsTasks() || state == PoolState.DRAINING);
        if (listening()) {
            publish(new PoolEvent.TaskFailed(config.name(), clock.instant(), task.id, task.type(), reason,
                    task.attempts, retry));
        }
        if (retry) {
            long delay = Backoff.delayNanos(task.attempts, task.retryPolicy.initialDelay().toNanos(),
                    task.retryPolicy.multiplier(), task.retryPolicy.maxDelay().toNanos(),
                    task.retryPolicy.jitter(), random.getAsDouble());
            task.state = TaskState.RETRY_WAIT;
            task.retryAt = now + delay;
            retryWaiting.add(task);
            counters.retried++;
            LOG.info("task {} ({}) failed with {} on attempt {}; retrying in {} ms", task.id, task.type(), reason,
                    task.attempts, TimeUnit.NANOSECONDS.toMillis(delay));
            if (listening()) {
                publish(new PoolEvent.TaskRetried(config.name(), clock.instant(), task.id, task.type(), reason,
                        task.attempts + 1, Duration.ofNanos(delay)));
            }
            if (delay == 0) {
                requeueDueRetriesLocked(now);
            } else {
                wakeMaintenance.run();
            }
            return;
        }
        TaskFailedException failure = failure(task, reason, remote, detail);
        DeadLetter letter = new DeadLetter(task.id, task.type(), task.request.priority(),
                new String(task.payloadJson, StandardCharsets.UTF_8), reason, failure.getMessage(),
                task.failedAttempts, clock.instant());
        if (deadLetters.add(letter, task.request)) {
            counters.deadLettered++;
            finishLocked(task, TaskState.DEAD_LETTERED, failure, fx);
            if (listening()) {
                publish(new PoolEvent.TaskDeadLettered(config.name(), clock.instant(), letter));
            }
        } else {
            counters.failed++;
            finishLocked(task, TaskState.FAILED, failure, fx);
        }
    }

    /**
     * The output tail of a worker, followed by the stacks of the threads that were running tasks when it was asked
     * for a thread dump: a dump is longer than the tail, and those stacks are the part that explains a hang.
     */
    private static List<String> forensicOutput(WorkerRecord worker) {
        List<String> tail = worker.process == null ? List.of() : worker.process.output().lines();
        List<String> stacks = ThreadDumps.taskStacks(worker.stoppingOutput, THREAD_DUMP_LINES);
        if (stacks.isEmpty()) {
            return tail;
        }
        List<String> all = new ArrayList<>(tail.size() + stacks.size());
        all.addAll(tail);
        stacks.forEach(line -> all.add("[thread dump] " + line));
        return all;
    }

    /**
     * The earliest retry or worker start still to come after {@code now}, or {@link Long#MAX_VALUE}: when maintenance
     * must run next, so that a backoff or a restart delay ends on time rather than at the next periodic tick.
     */
    long nextDueAfter(long now) {
        lock.lock();
        try {
            long next = Long.MAX_VALUE;
            TaskRecord retry = retryWaiting.peek();
            if (retry != null && retry.retryAt > now) {
                next = retry.retryAt;
            }
            for (GroupRuntime group : groups.values()) {
                Long spawn = group.pendingSpawns.peek();
                if (spawn != null && spawn > now) {
                    next = Math.min(next, spawn);
                }
            }
            return next;
        } finally {
            lock.unlock();
        }
    }

    private void requeueDueRetriesLocked(long now) {
        while (!retryWaiting.isEmpty() && retryWaiting.peek().retryAt <= now) {
            enqueueLocked(retryWaiting.poll(), now);
        }
    }

    private TaskFailedException failure(TaskRecord task, FailureReason reason, RemoteError remote, String detail) {
        return new TaskFailedException(task.id, task.type(), reason, task.attempts, remote, detail,
                task.outputLines());
    }

    /** The output of an ended task, if still retained. */
    java.util.Optional<List<String>> taskOutput(String taskId, int maxLines) {
        lock.lock();
        try {
            return outputs.get(taskId, maxLines, now());
        } finally {
            lock.unlock();
        }
    }

    /** Keeps a line the task wrote, the last {@code maxTaskOutputLines} only. */
    private void addOutputLocked(TaskRecord task, String line) {
        int max = config.maxTaskOutputLines();
        if (max == 0) {
            return;
        }
        task.addOutput(line.length() > MAX_LINE_CHARS ? cut(line, MAX_LINE_CHARS) + "…" : line, max);
    }

    /** The first {@code max} characters, one fewer if that would split a surrogate pair (an emoji, say). */
    private static String cut(String line, int max) {
        int end = Character.isHighSurrogate(line.charAt(max - 1)) ? max - 1 : max;
        return line.substring(0, end);
    }

    // ------------------------------------------------------------------ worker events

    /** Schedules starts, due at {@code dueAt}, until the group has its size plus its hot spares. */
    private void topUpLocked(GroupRuntime group, long dueAt) {
        long live = workers.stream().filter(w -> w.group == group && !w.isStopping() && !w.retireWhenIdle).count();
        for (long i = live + group.pendingSpawns.size(); i < group.target + group.config.hotSpares(); i++) {
            group.pendingSpawns.add(dueAt);
        }
    }

    /** Lets ready hot spares take the places of workers the group lacks. */
    private void promoteSparesLocked(GroupRuntime group) {
        long active = workers.stream().filter(w -> w.group == group && w.isActiveMember()).count();
        for (WorkerRecord worker : workers) {
            if (active >= group.target) {
                return;
            }
            if (worker.group == group && worker.spare && worker.isReady() && !worker.isStopping()) {
                worker.spare = false;
                active++;
                LOG.info("hot spare {} of group \"{}\" takes over", worker, group.name());
            }
        }
    }

    private WorkerRecord spawnLocked(GroupRuntime group, Effects fx) {
        long now = now();
        WorkerRecord worker = new WorkerRecord("w-" + (++workerCounter), group, now);
        worker.spare = workers.stream().filter(w -> w.group == group && w.isActiveMember()).count() >= group.target;
        WorkerGroup settings = group.config;
        // Each worker's recycling limits are spread by up to 10 % so a group's workers do not recycle together.
        double spread = 1 - 0.1 * random.getAsDouble();
        settings.recycleAfterTasks().ifPresent(n -> worker.recycleAfterTasks = Math.max(1, (long) Math.ceil(n * spread)));
        settings.recycleAfterAge().ifPresent(age -> worker.recycleAtAge = now + (long) (age.toNanos() * spread));
        workers.add(worker);
        counters.workersStarted++;
        boolean spare = worker.spare;
        fx.add(() -> launch(worker, spare));
        return worker;
    }

    private void launch(WorkerRecord worker, boolean spare) {
        WorkerProcess.LaunchSpec spec = WorkerCommands.launchSpec(config, worker.group.config, worker.id,
                classDataSharing, spare);
        try {
            launcher.launch(worker.id, spec, new Events(worker));
        } catch (IOException | RuntimeException e) {
            Effects fx = new Effects();
            lock.lock();
            try {
                String problem = "cannot start worker " + worker.id + " of group \"" + worker.group.name()
                        + "\" with command " + spec.argv() + ": " + e.getMessage();
                LOG.error(problem);
                worker.state = WorkerState.DEAD;
                worker.stopCause = FailureReason.STARTUP_FAILURE;
                workers.remove(worker);
                fx.add(() -> worker.ready.completeExceptionally(new WorkerStartupException(problem, e)));
                afterWorkerGoneLocked(worker, fx);
            } finally {
                lock.unlock();
            }
            fx.run();
        }
    }

    /** Receives one worker's process events. */
    private final class Events implements WorkerProcess.Listener {
        private final WorkerRecord worker;

        Events(WorkerRecord worker) {
            this.worker = worker;
        }

        @Override
        public void onLaunched(WorkerConnection process) {
            boolean stopAtOnce;
            lock.lock();
            try {
                worker.process = process;
                worker.pid = process.pid();
                stopAtOnce = worker.isStopping();
            } finally {
                lock.unlock();
            }
            if (stopAtOnce) {
                process.closeStdin();
                process.kill();
            }
        }

        @Override
        public void onFrame(Frame frame) {
            onFrames(List.of(frame));
        }

        /** A burst of answers is handled under one lock, and the tasks it frees go out together. */
        @Override
        public void onFrames(List<Frame> frames) {
            Effects fx = new Effects();
            RuntimeException bug = null;
            lock.lock();
            try {
                // the slots freed by the whole burst are filled in one pass at its end
                answersArriving = true;
                try {
                    for (Frame frame : frames) {
                        try {
                            onFrameLocked(worker, frame, fx);
                        } catch (RuntimeException e) {
                            // a bug: the other frames of the burst are still handled, and their effects carried
                            // out, before the reader thread stops the worker for it
                            if (bug == null) {
                                bug = e;
                            } else {
                                bug.addSuppressed(e);
                            }
                        }
                    }
                } finally {
                    answersArriving = false;
                }
                dispatchLocked(fx);
                stopIdleWorkersIfDrained(fx);
            } finally {
                lock.unlock();
                fx.run();
            }
            if (bug != null) {
                throw bug;
            }
        }

        @Override
        public void onStderr(String line) {
            Dispatcher.this.onStderr(worker, line);
        }

        @Override
        public void onProtocolError(String problem) {
            Effects fx = new Effects();
            lock.lock();
            try {
                if (!worker.isStopping()) {
                    LOG.warn("worker {} broke the protocol: {}; killing it", worker, problem);
                }
                beginStopLocked(worker, FailureReason.PROTOCOL_ERROR, problem, StopMode.KILL, fx);
            } finally {
                lock.unlock();
            }
            fx.run();
        }

        @Override
        public void onExit(ExitStatus status) {
            if (classDataSharing != null) {
                classDataSharing.workerExited(worker.id);
            }
            long oomKills = memory.oomKills(); // read before taking the lock: it is file I/O
            Effects fx = new Effects();
            lock.lock();
            try {
                onExitLocked(worker, status, oomKills, fx);
            } finally {
                lock.unlock();
            }
            fx.run();
        }
    }

    private void onFrameLocked(WorkerRecord worker, Frame frame, Effects fx) {
        long now = now();
        if (!(frame instanceof Frame.NotAFrame)) {
            worker.lastFrameAt = now;
        }
        if (worker.state == WorkerState.STARTING && !(frame instanceof Frame.Ready)
                && !(frame instanceof Frame.Heartbeat) && !(frame instanceof Frame.NotAFrame)
                && !(frame instanceof Frame.Log)) {
            beginStopLocked(worker, FailureReason.PROTOCOL_ERROR, "sent a " + frame.getClass().getSimpleName()
                    + " frame before ready", StopMode.KILL, fx);
            return;
        }
        if (frame instanceof Frame.Result result) {
            onAnswerLocked(worker, result.id(), result, fx);
        } else if (frame instanceof Frame.Error error) {
            onAnswerLocked(worker, error.id(), error, fx);
        } else if (frame instanceof Frame.Heartbeat heartbeat) {
            if (heartbeat.rssBytes() > 0) {
                recordRssLocked(worker, heartbeat.rssBytes(), fx);
            }
            worker.heapUsedBytes = heartbeat.heapUsedBytes();
        } else if (frame instanceof Frame.Ready ready) {
            onReadyLocked(worker, ready, now, fx);
        } else if (frame instanceof Frame.NotAFrame notAFrame) {
            worker.nonFrameLines++;
            String text = notAFrame.text();
            if (worker.process != null) {
                worker.process.output().add("[stdout] " + text);
            }
            if (worker.isStopping()) {
                // a thread dump asked for with SIGQUIT, or last words: kept, not a warning
                if (worker.stoppingOutput.size() < WorkerRecord.MAX_STOPPING_LINES) {
                    worker.stoppingOutput.add(text);
                }
                LOG.debug("worker {} (stopping) wrote: {}", worker.id, text);
            } else {
                LOG.warn("worker {} wrote a line to stdout that is not a frame ({}), ignored: {}", worker.id,
                        notAFrame.why(), text);
            }
        } else if (frame instanceof Frame.Log log) {
            TaskRecord task = log.id() != null ? worker.inFlight.get(log.id()) : soleTask(worker);
            if (task != null) {
                addOutputLocked(task, log.message());
            }
            String taskId = task == null ? null : task.id;
            fx.add(() -> WorkerOutput.log(config.name(), worker.id, taskId, log.level(), log.message()));
        } else if (frame instanceof Frame.Progress progress) {
            TaskRecord task = worker.inFlight.get(progress.id());
            if (task != null && !task.progressListeners.isEmpty() && !task.state.isTerminal()) {
                dev.procpool.TaskProgress report = new dev.procpool.TaskProgress(task.id, progress.fraction(),
                        progress.message() == null ? "" : progress.message());
                List<java.util.function.Consumer<dev.procpool.TaskProgress>> listeners = task.progressListeners;
                fx.add(() -> listeners.forEach(listener -> {
                    try {
                        listener.accept(report);
                    } catch (Exception | LinkageError | AssertionError e) {
                        // the caller's code: it must not take the worker's reader thread down
                        LOG.warn("progress listener of task {} failed", task.id, e);
                    }
                }));
            }
        } else {
            LOG.debug("worker {} sent a frame this host ignores: {}", worker.id, frame);
        }
    }

    /** The task a line without a task id belongs to: the worker's only task, if it runs exactly one. */
    private static TaskRecord soleTask(WorkerRecord worker) {
        return worker.inFlight.size() == 1 ? worker.inFlight.values().iterator().next() : null;
    }

    /** A stderr line: kept with the task it was written during, and logged with the pool, worker and task. */
    private void onStderr(WorkerRecord worker, String line) {
        String taskId = null;
        lock.lock();
        try {
            TaskRecord task = soleTask(worker);
            if (task != null) {
                addOutputLocked(task, line);
                taskId = task.id;
            }
        } finally {
            lock.unlock();
        }
        WorkerOutput.log(config.name(), worker.id, taskId, "INFO", line);
    }

    private void onReadyLocked(WorkerRecord worker, Frame.Ready ready, long now, Effects fx) {
        if (worker.state != WorkerState.STARTING || worker.isStopping()) {
            LOG.warn("worker {} sent ready {}; ignored", worker, worker.isStopping() ? "while being stopped" : "twice");
            return;
        }
        if (ready.protocol() != FrameCodec.PROTOCOL_VERSION) {
            beginStopLocked(worker, FailureReason.STARTUP_FAILURE, "the worker speaks protocol version "
                    + ready.protocol() + " but the host speaks " + FrameCodec.PROTOCOL_VERSION, StopMode.KILL, fx);
            return;
        }
        worker.state = WorkerState.IDLE;
        worker.readyAt = now;
        worker.idleSince = now;
        worker.taskTypes = Set.copyOf(ready.taskTypes());
        worker.capabilities = GroupRuntime.union(worker.group.config.capabilities(), Set.copyOf(ready.capabilities()));
        worker.maxConcurrency = Math.min(ready.maxConcurrency(), worker.group.config.maxConcurrency());
        if (worker.group.announcedTaskTypes == null || !worker.taskTypes.isEmpty()) {
            worker.group.announcedTaskTypes = worker.taskTypes;
        }
        worker.group.announcedCapabilities = GroupRuntime.union(
                worker.group.announcedCapabilities == null ? Set.of() : worker.group.announcedCapabilities,
                Set.copyOf(ready.capabilities()));
        Duration startup = Duration.ofNanos(now - worker.launchedAt);
        instruments.workerReady(now - worker.launchedAt);
        LOG.debug("worker {} ready in {} ms, serving {}", worker, startup.toMillis(),
                worker.taskTypes.isEmpty() ? "any type" : worker.taskTypes);
        if (listening()) {
            publish(new PoolEvent.WorkerStarted(config.name(), clock.instant(), worker.id, worker.group.name(),
                    worker.pid, startup));
        }
        fx.add(() -> worker.ready.complete(null));
        promoteSparesLocked(worker.group);
        dispatchLocked(fx);
    }

    private void onAnswerLocked(WorkerRecord worker, String taskId, Frame answer, Effects fx) {
        TaskRecord task = worker.inFlight.get(taskId);
        if (task == null) {
            LOG.debug("worker {} answered task {} which it does not hold; ignored", worker.id, taskId);
            return;
        }
        long now = now();
        worker.process.consumedUpTo(task.frameEnd);
        worker.tasksServed++;
        releaseFromWorkerLocked(task, worker);
        if (!task.state.isTerminal()) {
            if (task.timedOut) {
                attemptFailedLocked(task, worker, FailureReason.TIMEOUT, "no answer within "
                        + Duration.ofNanos(task.timeoutNanos), null, null, true, fx);
            } else if (answer instanceof Frame.Result result) {
                counters.succeeded++;
                counters.runNanos += now - task.dispatchedAt;
                counters.runs++;
                instruments.attemptEnded(now - task.dispatchedAt, true);
                long runNanos = now - task.dispatchedAt;
                finishLocked(task, TaskState.SUCCEEDED, new DefaultTaskResult(task.id, task.type(), result.result(),
                        worker.id, worker.pid, task.attempts, task.dispatchedAt - task.queuedAt, runNanos,
                        task.outputLines(), codec.mapper()), fx);
                if (listening()) {
                    publish(new PoolEvent.TaskCompleted(config.name(), clock.instant(), task.id, task.type(),
                            worker.id, task.attempts, Duration.ofNanos(runNanos)));
                }
            } else {
                Frame.Error error = (Frame.Error) answer;
                FailureReason reason = switch (error.kind()) {
                    case "UNKNOWN_TASK_TYPE" -> FailureReason.UNKNOWN_TASK_TYPE;
                    case "OUT_OF_MEMORY" -> FailureReason.OUT_OF_MEMORY;
                    default -> FailureReason.HANDLER_ERROR;
                };
                if (reason == FailureReason.OUT_OF_MEMORY) {
                    beginStopLocked(worker, FailureReason.OUT_OF_MEMORY, "the worker reported running out of memory",
                            StopMode.CLOSE_INPUT, fx);
                }
                attemptFailedLocked(task, worker, reason, null, null,
                        new RemoteError(error.errorClass(), error.message(), error.stack()), error.retryable(), fx);
            }
        }
        retireIfDueLocked(worker, now, fx);
        if (!answersArriving) {
            dispatchLocked(fx);
            stopIdleWorkersIfDrained(fx);
        }
    }

    private void onExitLocked(WorkerRecord worker, ExitStatus status, long oomKills, Effects fx) {
        boolean wasStarting = worker.state == WorkerState.STARTING;
        worker.state = WorkerState.DEAD;
        worker.exitStatus = status;
        workers.remove(worker);
        servedByDeadWorkers += worker.tasksServed;
        String tail = worker.process == null ? "(no output)" : worker.process.output().text();
        boolean kernelOomKill = oomKills > oomKillsSeen && oomKillsSeen >= 0;
        if (oomKills >= 0) {
            oomKillsSeen = oomKills;
        }
        if (worker.stopCause == null && !worker.isStopping()) {
            worker.stopCause = wasStarting ? FailureReason.STARTUP_FAILURE
                    : classifyExit(status, tail, kernelOomKill);
            LOG.warn("worker {} exited unexpectedly: {} ({}); output tail:\n{}", worker, status, worker.stopCause,
                    tail);
        }
        FailureReason reason = worker.stopCause != null ? worker.stopCause : FailureReason.WORKER_CRASHED;
        String detail = "worker " + worker.id + " (pid " + worker.pid + ") " + status
                + (worker.stopDetail != null ? ": " + worker.stopDetail : "");
        if (listening()) {
            publish(new PoolEvent.WorkerExited(config.name(), clock.instant(), worker.id, worker.group.name(),
                    worker.pid, status.toString(), worker.stopCause));
        }
        for (TaskRecord task : List.copyOf(worker.inFlight.values())) {
            releaseFromWorkerLocked(task, worker);
            if (!task.state.isTerminal()) {
                // Only the task that timed out fails TIMEOUT; others on the same worker lost their worker.
                FailureReason taskReason = task.timedOut ? FailureReason.TIMEOUT
                        : reason == FailureReason.TIMEOUT ? FailureReason.WORKER_CRASHED : reason;
                attemptFailedLocked(task, worker, taskReason, detail, status, null, true, fx);
            }
        }
        if (wasStarting) {
            String problem = "worker " + worker.id + " of group \"" + worker.group.name() + "\" (command "
                    + WorkerCommands.argv(worker.group.config.spec()) + ") "
                    + (worker.stopDetail != null ? worker.stopDetail + "; it " : "") + "ended before it was ready: "
                    + status + "; stderr tail:\n" + tail;
            fx.add(() -> worker.ready.completeExceptionally(new WorkerStartupException(problem)));
        }
        afterWorkerGoneLocked(worker, fx);
    }

    /** How a worker that the pool did not stop died. */
    static FailureReason classifyExit(ExitStatus status, String outputTail, boolean kernelOomKill) {
        if (outputTail.contains("java.lang.OutOfMemoryError")) {
            return FailureReason.OUT_OF_MEMORY; // reported, or -XX:+ExitOnOutOfMemoryError's "Terminating due to"
        }
        if (status.killedBySigkill() && kernelOomKill) {
            return FailureReason.OUT_OF_MEMORY;
        }
        return FailureReason.WORKER_CRASHED;
    }

    private void afterWorkerGoneLocked(WorkerRecord worker, Effects fx) {
        GroupRuntime group = worker.group;
        long now = now();
        boolean needed = state.acceptsTasks() || (state == PoolState.DRAINING && hasWorkLocked());
        if (needed) {
            promoteSparesLocked(group);
            long live = workers.stream().filter(w -> w.group == group && !w.isStopping() && !w.retireWhenIdle)
                    .count() + group.pendingSpawns.size();
            if (live < group.target + group.config.hotSpares()) {
                if (worker.stopCause == null) {
                    // retired on purpose (recycling): replace at once, it is not a failure
                    topUpLocked(group, now);
                } else {
                    long delay = group.restarts.recordFailure(now, random.getAsDouble());
                    counters.restarts++;
                    counters.restartsByReason.merge(worker.stopCause, 1L, Long::sum);
                    topUpLocked(group, now + delay);
                    LOG.info("replacing worker {} of group \"{}\" ({}) in {} ms", worker.id, group.name(),
                            worker.stopCause, TimeUnit.NANOSECONDS.toMillis(delay));
                    if (listening()) {
                        publish(new PoolEvent.WorkerRestarting(config.name(), clock.instant(), group.name(),
                                worker.id, worker.stopCause, Duration.ofNanos(delay)));
                    }
                    updateDegradedLocked(now);
                }
                spawnDueLocked(now, fx);
                wakeMaintenance.run();
            }
        }
        dispatchLocked(fx);
        stopIdleWorkersIfDrained(fx);
        terminateIfDoneLocked();
    }

    private boolean hasWorkLocked() {
        return !queue.isEmpty() || !retryWaiting.isEmpty();
    }

    /** Starts the replacement workers that are due, while the memory gate is open. */
    private void spawnDueLocked(long now, Effects fx) {
        for (GroupRuntime group : groups.values()) {
            while (!group.pendingSpawns.isEmpty() && group.pendingSpawns.peek() <= now) {
                if (memoryGateClosed) {
                    return;
                }
                group.pendingSpawns.poll();
                spawnLocked(group, fx);
            }
        }
    }

    private void updateDegradedLocked(long now) {
        boolean over = groups.values().stream().anyMatch(g -> g.restarts.isOverLimit(now));
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

    private void terminateIfDoneLocked() {
        if (state == PoolState.DRAINING && workers.isEmpty()) {
            state = PoolState.TERMINATED;
            LOG.info("pool {} terminated", config.name());
            terminated.signalAll();
            if (listening()) {
                publish(new PoolEvent.PoolTerminated(config.name(), clock.instant()));
            }
        }
    }

    /** While draining, idle workers are asked to exit once nothing is queued, waiting or running. */
    private void stopIdleWorkersIfDrained(Effects fx) {
        if (state != PoolState.DRAINING || hasWorkLocked()) {
            return;
        }
        boolean anyRunning = workers.stream().anyMatch(w -> !w.inFlight.isEmpty());
        if (anyRunning) {
            return;
        }
        for (WorkerRecord worker : workers) {
            beginStopLocked(worker, null, "pool shut down", StopMode.ASK, fx);
        }
        for (GroupRuntime group : groups.values()) {
            group.pendingSpawns.clear();
        }
        terminateIfDoneLocked();
    }

    // ------------------------------------------------------------------ memory and recycling

    private void recordRssLocked(WorkerRecord worker, long rss, Effects fx) {
        worker.rssBytes = rss;
        for (TaskRecord task : worker.inFlight.values()) {
            task.peakRssBytes = Math.max(task.peakRssBytes, rss);
        }
        if (worker.isStopping() || !worker.isReady()) {
            return;
        }
        WorkerGroup group = worker.group.config;
        if (group.memoryHardLimitBytes().isPresent() && rss > group.memoryHardLimitBytes().getAsLong()) {
            LOG.warn("worker {} uses {} bytes, over the hard limit of {}; killing it", worker, rss,
                    group.memoryHardLimitBytes().getAsLong());
            beginStopLocked(worker, FailureReason.OUT_OF_MEMORY, "resident memory " + rss
                    + " bytes exceeded the hard limit of " + group.memoryHardLimitBytes().getAsLong(),
                    StopMode.KILL, fx);
        } else if (group.memorySoftLimitBytes().isPresent() && rss > group.memorySoftLimitBytes().getAsLong()
                && !worker.retireWhenIdle) {
            retireLocked(worker, "resident memory " + rss + " bytes exceeded the soft limit of "
                    + group.memorySoftLimitBytes().getAsLong(), fx);
        }
    }

    private void retireIfDueLocked(WorkerRecord worker, long now, Effects fx) {
        if (worker.isStopping() || worker.retireWhenIdle) {
            if (worker.retireWhenIdle && worker.inFlight.isEmpty()) {
                beginStopLocked(worker, null, worker.retireWhy, StopMode.ASK, fx);
            }
            return;
        }
        if (worker.tasksServed >= worker.recycleAfterTasks) {
            retireLocked(worker, "served " + worker.tasksServed + " tasks", fx);
        } else if (now >= worker.recycleAtAge) {
            retireLocked(worker, "reached its maximum age", fx);
        }
    }

    /** Takes a worker out of rotation; it stops once its current tasks end and is replaced at once. */
    private void retireLocked(WorkerRecord worker, String why, Effects fx) {
        retireLocked(worker, why, true, fx);
    }

    private void retireLocked(WorkerRecord worker, String why, boolean replace, Effects fx) {
        worker.retireWhenIdle = true;
        worker.retireWhy = why;
        GroupRuntime group = worker.group;
        if (replace) {
            LOG.info("recycling worker {}: {}", worker, why);
            if (listening()) {
                publish(new PoolEvent.WorkerRecycled(config.name(), clock.instant(), worker.id, group.name(), why));
            }
        }
        if (replace && state.acceptsTasks()) {
            promoteSparesLocked(group);
            topUpLocked(group, now()); // start the replacement now, so capacity does not dip
            spawnDueLocked(now(), fx);
        }
        if (worker.inFlight.isEmpty()) {
            beginStopLocked(worker, null, why, StopMode.ASK, fx);
        }
    }

    // ------------------------------------------------------------------ scaling

    /** Adds (positive delta) or removes (negative delta) workers of a group; see WorkerPool.scaleUp/scaleDown. */
    void scale(String groupName, int delta) {
        Effects fx = new Effects();
        lock.lock();
        try {
            GroupRuntime group = groups.get(groupName);
            if (group == null) {
                throw new IllegalArgumentException("pool \"" + config.name() + "\" has no group \"" + groupName
                        + "\"; its groups are " + groups.keySet());
            }
            if (!state.acceptsTasks()) {
                throw new IllegalStateException("pool \"" + config.name() + "\" cannot scale in state " + state);
            }
            if (delta > 0) {
                scaleUpLocked(group, delta, "scaled up by the application", fx);
            } else if (-delta > group.target) {
                throw new IllegalArgumentException("cannot remove " + (-delta) + " workers from group \""
                        + groupName + "\", which has " + group.target);
            } else {
                scaleDownLocked(group, -delta, "scaled down by the application", fx);
            }
        } finally {
            lock.unlock();
        }
        fx.run();
    }

    private void scaleUpLocked(GroupRuntime group, int count, String why, Effects fx) {
        int from = group.target;
        group.target += count;
        group.max = Math.max(group.max, group.target);
        long now = now();
        promoteSparesLocked(group);
        topUpLocked(group, now);
        LOG.info("group {} of pool {}: {} → {} workers ({})", group.name(), config.name(), from, group.target, why);
        if (listening()) {
            publish(new PoolEvent.Scaled(config.name(), clock.instant(), group.name(), from, group.target));
        }
        spawnDueLocked(now, fx);
    }

    /** Removes workers: starts not yet launched first, then idle workers, then busy ones after their task. */
    private void scaleDownLocked(GroupRuntime group, int count, String why, Effects fx) {
        int from = group.target;
        group.target -= count;
        group.min = Math.min(group.min, group.target);
        int left = count;
        while (left > 0 && !group.pendingSpawns.isEmpty()) {
            group.pendingSpawns.poll();
            left--;
        }
        List<WorkerRecord> members = workers.stream()
                .filter(w -> w.group == group && w.isActiveMember())
                .sorted(Comparator.comparingInt((WorkerRecord w) -> w.inFlight.size()))
                .toList();
        for (WorkerRecord worker : members) {
            if (left == 0) {
                break;
            }
            left--;
            if (worker.inFlight.isEmpty()) {
                beginStopLocked(worker, null, why, worker.state == WorkerState.STARTING ? StopMode.KILL : StopMode.ASK,
                        fx);
            } else {
                retireLocked(worker, why, false, fx);
            }
        }
        LOG.info("group {} of pool {}: {} → {} workers ({})", group.name(), config.name(), from, group.target, why);
        if (listening()) {
            publish(new PoolEvent.Scaled(config.name(), clock.instant(), group.name(), from, group.target));
        }
    }

    /** Automatic scaling of groups whose minimum is below their maximum: up on backlog, down on idleness. */
    private void autoscaleLocked(long now, Effects fx) {
        if (!state.acceptsTasks()) {
            return;
        }
        for (GroupRuntime group : groups.values()) {
            if (group.min >= group.max) {
                continue;
            }
            int concurrency = group.config.maxConcurrency();
            int backlog = queue.count(key -> group.mayServe((TaskRecord.RoutingKey) key));
            int free = group.pendingSpawns.size() * concurrency;
            for (WorkerRecord worker : workers) {
                if (worker.group == group && worker.isActiveMember()) {
                    free += worker.isReady() ? worker.maxConcurrency - worker.inFlight.size() : concurrency;
                }
            }
            if (backlog > free && group.target < group.max) {
                int add = Math.min(group.max - group.target, (backlog - free + concurrency - 1) / concurrency);
                scaleUpLocked(group, add, backlog + " tasks waiting", fx);
            } else if (backlog == 0 && group.target > group.min) {
                long idleTimeout = group.config.idleTimeout().toNanos();
                for (WorkerRecord worker : List.copyOf(workers)) {
                    if (group.target <= group.min) {
                        break;
                    }
                    if (worker.group == group && worker.state == WorkerState.IDLE && worker.isActiveMember()
                            && now - worker.idleSince >= idleTimeout) {
                        int from = group.target;
                        group.target--;
                        beginStopLocked(worker, null, "idle for " + group.config.idleTimeout(), StopMode.ASK, fx);
                        LOG.info("group {} of pool {}: {} → {} workers ({} idle for {})", group.name(), config.name(),
                                from, group.target, worker.id, group.config.idleTimeout());
                        if (listening()) {
                            publish(new PoolEvent.Scaled(config.name(), clock.instant(), group.name(), from,
                                    group.target));
                        }
                    }
                }
            }
        }
    }

    // ------------------------------------------------------------------ stopping workers

    /** How a stop begins; it escalates to SIGTERM and then SIGKILL after a grace period each. */
    enum StopMode {
        /** A shutdown frame and end of input: for idle workers. */
        ASK,
        /** End of input only: the worker must exit at once. */
        CLOSE_INPUT,
        /** A thread dump for JVMs (SIGQUIT), then SIGTERM: for workers that stopped answering. */
        TERMINATE,
        /** SIGKILL at once: for workers that broke the protocol or their memory limit. */
        KILL
    }

    private void beginStopLocked(WorkerRecord worker, FailureReason cause, String detail, StopMode mode,
                                 Effects fx) {
        if (worker.state == WorkerState.DEAD) {
            return;
        }
        if (cause != null && worker.stopCause == null) {
            worker.stopCause = cause;
            worker.stopDetail = detail;
        }
        if (worker.isStopping() && mode != StopMode.KILL) {
            return;
        }
        worker.stopStageAt = now();
        if (cause == FailureReason.HUNG || cause == FailureReason.TIMEOUT) {
            worker.state = WorkerState.ZOMBIE;
        } else if (worker.state != WorkerState.STARTING) {
            worker.state = WorkerState.RETIRING;
        }
        WorkerConnection process = worker.process;
        boolean first = worker.stopStage == WorkerRecord.StopStage.NONE;
        boolean javaWorker = worker.group.config.spec() instanceof WorkerSpec.Java;
        switch (mode) {
            case ASK -> {
                worker.stopStage = WorkerRecord.StopStage.ASKED;
                if (process != null) {
                    byte[] shutdown = codec.encodeShutdown();
                    fx.add(() -> {
                        process.rememberDescendants();
                        process.send(shutdown);
                        process.closeStdin();
                    });
                }
            }
            case CLOSE_INPUT -> {
                worker.stopStage = WorkerRecord.StopStage.ASKED;
                if (process != null) {
                    fx.add(() -> {
                        process.rememberDescendants();
                        process.closeStdin();
                    });
                }
            }
            case TERMINATE -> {
                worker.stopStage = javaWorker ? WorkerRecord.StopStage.DUMPING : WorkerRecord.StopStage.TERMINATED;
                if (process != null) {
                    long pid = worker.pid;
                    fx.add(() -> {
                        process.rememberDescendants();
                        String status = memory.processStatus(pid);
                        status.lines().filter(l -> l.startsWith("State:") || l.startsWith("VmRSS:")
                                || l.startsWith("Threads:")).forEach(l -> process.output().add("[/proc] " + l));
                        if (javaWorker) {
                            process.signal("QUIT"); // the JVM prints a thread dump on stdout; it lands in the tail
                        } else {
                            process.terminate();
                        }
                    });
                }
            }
            case KILL -> {
                worker.stopStage = WorkerRecord.StopStage.KILLED;
                if (process != null) {
                    fx.add(() -> {
                        if (first) {
                            process.rememberDescendants();
                        }
                        process.closeStdin();
                        process.kill();
                    });
                }
            }
        }
        wakeMaintenance.run();
    }

    // ------------------------------------------------------------------ maintenance

    /**
     * Checks start-up deadlines, heartbeats, task timeouts, retries that are due, memory and recycling, pending
     * replacements and stop escalation at time {@code now}, and acts. Called by the maintenance thread, and by
     * tests with a fake time.
     */
    void maintain(long now) {
        MemoryProbe.Usage usage = memory.usage(); // file I/O, outside the lock
        Effects fx = new Effects();
        lock.lock();
        try {
            lastMemory = usage;
            boolean gateClosed = usage != null && config.spawnMemoryThreshold() < 1.0
                    && usage.fraction() > config.spawnMemoryThreshold();
            if (gateClosed != memoryGateClosed) {
                memoryGateClosed = gateClosed;
                LOG.warn("pool {}: memory gate {}: {} % of {} bytes in use ({}), threshold {} %", config.name(),
                        gateClosed ? "closed, no worker will start" : "open again",
                        Math.round(usage.fraction() * 100), usage.limitBytes(), usage.source(),
                        Math.round(config.spawnMemoryThreshold() * 100));
            }
            long startup = config.startupTimeout().toNanos();
            long heartbeat = config.heartbeatTimeout().toNanos();
            long grace = config.stopGracePeriod().toNanos();
            for (WorkerRecord worker : List.copyOf(workers)) {
                if (worker.isStopping()) {
                    escalateLocked(worker, now, grace, fx);
                    continue;
                }
                if (worker.state == WorkerState.STARTING) {
                    if (now - worker.launchedAt >= startup) {
                        beginStopLocked(worker, FailureReason.STARTUP_FAILURE, "did not send ready within "
                                + config.startupTimeout(), StopMode.KILL, fx);
                    }
                    continue;
                }
                if (now - worker.lastFrameAt >= heartbeat) {
                    Duration silence = Duration.ofNanos(now - worker.lastFrameAt);
                    LOG.warn("worker {} sent nothing for {} ms (heartbeat timeout {}); killing it as a zombie",
                            worker, silence.toMillis(), config.heartbeatTimeout());
                    counters.zombies++;
                    if (listening()) {
                        publish(new PoolEvent.ZombieDetected(config.name(), clock.instant(), worker.id, worker.pid,
                                silence));
                    }
                    beginStopLocked(worker, FailureReason.HUNG, "no heartbeat for " + silence, StopMode.TERMINATE,
                            fx);
                    continue;
                }
                if (!worker.stable && now - worker.readyAt >= config.restartPolicy().window().toNanos()) {
                    worker.stable = true;
                    worker.group.restarts.recordStable();
                }
                checkTimeoutsLocked(worker, now, fx);
                if (!worker.isStopping() && worker.inFlight.isEmpty()) {
                    retireIfDueLocked(worker, now, fx);
                }
            }
            requeueDueRetriesLocked(now);
            updateDegradedLocked(now);
            autoscaleLocked(now, fx);
            spawnDueLocked(now, fx);
            dispatchLocked(fx);
            stopIdleWorkersIfDrained(fx);
            updateHealthLocked();
        } finally {
            lock.unlock();
        }
        fx.run();
    }

    private void checkTimeoutsLocked(WorkerRecord worker, long now, Effects fx) {
        for (TaskRecord task : worker.inFlight.values()) {
            if (!task.timedOut && !task.state.isTerminal() && now >= task.deadline) {
                task.timedOut = true;
                task.cancelKillAt = now + config.cancelGracePeriod().toNanos();
                LOG.info("task {} timed out after {} on worker {}; cancelling it", task.id,
                        Duration.ofNanos(task.timeoutNanos), worker.id);
                fx.send(worker, codec.encodeCancel(task.id));
            }
            if (now >= task.cancelKillAt) {
                beginStopLocked(worker, task.timedOut ? FailureReason.TIMEOUT : FailureReason.WORKER_CRASHED,
                        "did not end task " + task.id + " within the cancel grace period "
                                + config.cancelGracePeriod(), StopMode.TERMINATE, fx);
                return;
            }
        }
    }

    /** Readings of worker RSS taken by the maintenance thread from /proc. */
    void recordRss(Map<String, Long> rssByWorker) {
        Effects fx = new Effects();
        lock.lock();
        try {
            for (WorkerRecord worker : List.copyOf(workers)) { // recycling may add a replacement
                Long rss = rssByWorker.get(worker.id);
                if (rss != null && rss > 0) {
                    recordRssLocked(worker, rss, fx);
                }
            }
        } finally {
            lock.unlock();
        }
        fx.run();
    }

    /** Pids of the live workers, for RSS sampling. */
    Map<String, Long> workerPids() {
        lock.lock();
        try {
            Map<String, Long> pids = new LinkedHashMap<>();
            for (WorkerRecord worker : workers) {
                if (worker.pid > 0 && worker.state != WorkerState.DEAD) {
                    pids.put(worker.id, worker.pid);
                }
            }
            return pids;
        } finally {
            lock.unlock();
        }
    }

    private void escalateLocked(WorkerRecord worker, long now, long grace, Effects fx) {
        if (worker.process == null) {
            return;
        }
        long wait = worker.stopStage == WorkerRecord.StopStage.DUMPING ? Math.min(grace, THREAD_DUMP_WAIT_NANOS)
                : grace;
        if (now - worker.stopStageAt < wait) {
            return;
        }
        WorkerConnection process = worker.process;
        switch (worker.stopStage) {
            case ASKED, DUMPING -> {
                if (worker.stopStage == WorkerRecord.StopStage.ASKED) {
                    LOG.info("worker {} did not exit within {}; sending SIGTERM", worker, config.stopGracePeriod());
                }
                worker.stopStage = WorkerRecord.StopStage.TERMINATED;
                worker.stopStageAt = now;
                fx.add(process::terminate);
            }
            case TERMINATED -> {
                worker.stopStage = WorkerRecord.StopStage.KILLED;
                worker.stopStageAt = now;
                LOG.warn("worker {} did not exit within {} of SIGTERM; sending SIGKILL", worker,
                        config.stopGracePeriod());
                fx.add(process::kill);
            }
            case KILLED -> {
                worker.stopStageAt = now;
                fx.add(process::kill); // a child may have been started after the first SIGKILL sweep
            }
            default -> {
            }
        }
    }

    // ------------------------------------------------------------------ health and views

    private void updateHealthLocked() {
        PoolHealth now = computeHealthLocked();
        if (!now.equals(health)) {
            PoolHealth before = health;
            health = now;
            if (now.status() != HealthStatus.HEALTHY) {
                LOG.warn("pool {} health {}: {}", config.name(), now.status(), now.alerts());
            }
            if (listening()) {
                publish(new PoolEvent.HealthChanged(config.name(), clock.instant(), before, now));
            }
        }
    }

    private PoolHealth computeHealthLocked() {
        List<String> alerts = new ArrayList<>();
        HealthStatus status = HealthStatus.HEALTHY;
        long now = now();
        if (state == PoolState.DEGRADED) {
            status = HealthStatus.DEGRADED;
            for (GroupRuntime group : groups.values()) {
                int restarts = group.restarts.restartsInWindow(now);
                if (restarts > config.restartPolicy().maxRestarts()) {
                    alerts.add("restart intensity exceeded in group " + group.name() + ": " + restarts
                            + " restarts within " + config.restartPolicy().window());
                }
            }
        }
        if (memoryGateClosed && lastMemory != null) {
            status = HealthStatus.DEGRADED;
            alerts.add("memory gate closed: " + Math.round(lastMemory.fraction() * 100) + " % of "
                    + lastMemory.limitBytes() + " bytes in use (" + lastMemory.source() + "), threshold "
                    + Math.round(config.spawnMemoryThreshold() * 100) + " %; " + pendingSpawnCount()
                    + " worker starts waiting");
        }
        if (state.acceptsTasks() && workers.stream().noneMatch(WorkerRecord::isReady)) {
            status = HealthStatus.CRITICAL;
            alerts.add("no worker is ready");
        }
        return new PoolHealth(status, alerts);
    }

    private int pendingSpawnCount() {
        return groups.values().stream().mapToInt(g -> g.pendingSpawns.size()).sum();
    }

    PoolHealth health() {
        lock.lock();
        try {
            return computeHealthLocked();
        } finally {
            lock.unlock();
        }
    }

    List<WorkerSnapshot> workerSnapshots() {
        lock.lock();
        try {
            long now = now();
            return workers.stream()
                    .sorted(Comparator.comparingInt(w -> Integer.parseInt(w.id.substring(2))))
                    .map(w -> new WorkerSnapshot(w.id, w.group.name(), w.pid, w.state,
                            w.isReady() && now - w.lastFrameAt < config.heartbeatTimeout().toNanos(),
                            w.tasksServed, List.copyOf(w.inFlight.keySet()),
                            TimeUnit.NANOSECONDS.toMillis(now - w.launchedAt),
                            TimeUnit.NANOSECONDS.toMillis(now - w.lastFrameAt), w.rssBytes, w.heapUsedBytes))
                    .toList();
        } finally {
            lock.unlock();
        }
    }

    /** The whole pool at one moment. */
    dev.procpool.PoolSnapshot snapshot() {
        lock.lock();
        try {
            long now = now();
            int idle = 0;
            int busy = 0;
            int unhealthy = 0;
            long heartbeat = config.heartbeatTimeout().toNanos();
            for (WorkerRecord w : workers) {
                boolean healthy = w.isReady() && !w.isStopping() && now - w.lastFrameAt < heartbeat;
                if (!healthy) {
                    unhealthy++;
                } else if (w.inFlight.isEmpty()) {
                    idle++;
                } else {
                    busy++;
                }
            }
            Counters c = counters;
            long served = workers.stream().mapToLong(w -> w.tasksServed).sum() + servedByDeadWorkers;
            List<dev.procpool.PoolSnapshot.Group> groupInfo = new ArrayList<>();
            for (GroupRuntime group : groups.values()) {
                int live = (int) workers.stream().filter(w -> w.group == group && w.isActiveMember()).count();
                int spares = (int) workers.stream().filter(w -> w.group == group && w.spare && !w.isStopping())
                        .count();
                groupInfo.add(new dev.procpool.PoolSnapshot.Group(group.name(), group.target, group.min, group.max,
                        live, spares));
            }
            int running = runningCount();
            return new dev.procpool.PoolSnapshot(
                    new dev.procpool.PoolSnapshot.Pool(config.name(),
                            (int) workers.stream().filter(WorkerRecord::isActiveMember).count(), state,
                            startedAt == 0 ? 0 : TimeUnit.NANOSECONDS.toMillis(now - startedAt)),
                    new dev.procpool.PoolSnapshot.Workers(workers.size(), idle, busy, unhealthy),
                    new dev.procpool.PoolSnapshot.Tasks(c.submitted, c.succeeded, c.failed + c.deadLettered,
                            c.deadLettered, c.cancelled, c.rejected(), c.retried, queue.size(), running,
                            c.failuresByReason),
                    new dev.procpool.PoolSnapshot.Performance(
                            c.workersStarted == 0 ? 0 : (double) served / c.workersStarted, c.workersStarted,
                            c.restarts, c.zombies, c.runs == 0 ? 0 : c.runNanos / 1e6 / c.runs),
                    computeHealthLocked(),
                    new dev.procpool.PoolSnapshot.Queue(queue.size(), retryWaiting.size(),
                            c.waits == 0 ? 0 : c.waitNanos / 1e6 / c.waits),
                    groupInfo);
        } finally {
            lock.unlock();
        }
    }

    /** A copy of the counters, for snapshots and tests. */
    Counters counters() {
        lock.lock();
        try {
            Counters copy = new Counters();
            copy.submitted = counters.submitted;
            copy.succeeded = counters.succeeded;
            copy.retried = counters.retried;
            copy.deadLettered = counters.deadLettered;
            copy.failed = counters.failed;
            copy.cancelled = counters.cancelled;
            copy.workersStarted = counters.workersStarted;
            copy.restarts = counters.restarts;
            copy.zombies = counters.zombies;
            copy.runNanos = counters.runNanos;
            copy.runs = counters.runs;
            copy.waitNanos = counters.waitNanos;
            copy.waits = counters.waits;
            copy.failuresByReason.putAll(counters.failuresByReason);
            copy.restartsByReason.putAll(counters.restartsByReason);
            copy.rejectedByKind.putAll(counters.rejectedByKind);
            return copy;
        } finally {
            lock.unlock();
        }
    }

    private int runningCount() {
        return workers.stream().mapToInt(w -> w.inFlight.size()).sum();
    }

    private String capabilitiesLocked() {
        Set<String> capabilities = new TreeSet<>();
        for (GroupRuntime group : groups.values()) {
            capabilities.addAll(group.config.capabilities());
            if (group.announcedCapabilities != null) {
                capabilities.addAll(group.announcedCapabilities);
            }
        }
        return capabilities.toString();
    }

    private String servedTypesLocked() {
        Set<String> types = new TreeSet<>();
        for (GroupRuntime group : groups.values()) {
            if (group.announcedTaskTypes != null) {
                types.addAll(group.announcedTaskTypes);
            }
        }
        return types.toString();
    }

    // ------------------------------------------------------------------ effects

    /**
     * I/O decided under the lock and carried out after it is released, in order. Frames for the same worker that
     * follow each other go out in one write.
     */
    private final class Effects {
        /** {@link Runnable}s and {@link Send}s, in the order decided. */
        private final List<Object> actions = new ArrayList<>(4);
        private List<Object[]> completions;

        /** A frame to send; {@code task} is set for a task frame, whose end offset it records. */
        private record Send(WorkerConnection process, byte[] frame, TaskRecord task) {
        }

        void add(Runnable action) {
            actions.add(action);
        }

        void send(WorkerRecord worker, byte[] frame) {
            WorkerConnection process = worker.process;
            if (process != null) {
                actions.add(new Send(process, frame, null));
            }
        }

        void sendTask(WorkerRecord worker, TaskRecord task, int attempt, long timeoutMs) {
            actions.add(new Send(worker.process,
                    codec.encodeTask(task.id, task.type(), attempt, timeoutMs, task.payloadJson), task));
        }

        void complete(TaskRecord task, Object outcome) {
            if (completions == null) {
                completions = new ArrayList<>(2);
            }
            completions.add(new Object[] {task, outcome});
        }

        /** Frames go out first so workers start on new tasks before callers' callbacks run. */
        void run() {
            int sendsFrom = 0;
            for (int i = 0; i < actions.size(); i++) {
                if (actions.get(i) instanceof Runnable action) {
                    sendAll(sendsFrom, i); // frames decided before an action go out before it
                    sendsFrom = i + 1;
                    try {
                        action.run();
                    } catch (RuntimeException e) {
                        LOG.error("procpool: an effect failed", e);
                    }
                }
            }
            sendAll(sendsFrom, actions.size());
            if (completions != null) {
                for (Object[] completion : completions) {
                    TaskRecord task = (TaskRecord) completion[0];
                    boolean first = completion[1] instanceof TaskFailedException failed
                            ? task.future.completeExceptionally(failed)
                            : task.future.complete((DefaultTaskResult) completion[1]);
                    if (!first) {
                        LOG.error("procpool bug: task {} completed twice", task.id);
                    }
                }
            }
        }

        /** Sends the frames in {@code actions[from, to)}, all of them {@link Send}s, one write per worker. */
        private void sendAll(int from, int to) {
            if (from == to) {
                return;
            }
            if (to - from == 1) {
                write(List.of((Send) actions.get(from))); // the usual case
                return;
            }
            Map<WorkerConnection, List<Send>> byWorker = new LinkedHashMap<>();
            for (int i = from; i < to; i++) {
                Send send = (Send) actions.get(i);
                byWorker.computeIfAbsent(send.process, process -> new ArrayList<>(2)).add(send);
            }
            byWorker.values().forEach(this::write);
        }

        /** Writes frames for one worker in one write; each task frame ends where the bytes after it begin. */
        private void write(List<Send> sends) {
            try {
                WorkerConnection process = sends.get(0).process;
                byte[] bytes = sends.get(0).frame;
                if (sends.size() > 1) {
                    bytes = new byte[sends.stream().mapToInt(send -> send.frame.length).sum()];
                    int at = 0;
                    for (Send send : sends) {
                        System.arraycopy(send.frame, 0, bytes, at, send.frame.length);
                        at += send.frame.length;
                    }
                }
                long end = process.send(bytes);
                for (int k = sends.size() - 1; k >= 0; k--) {
                    Send send = sends.get(k);
                    if (send.task != null) {
                        send.task.frameEnd = end;
                    }
                    end -= send.frame.length;
                }
            } catch (RuntimeException e) {
                LOG.error("procpool: sending to a worker failed", e);
            }
        }
    }
}
