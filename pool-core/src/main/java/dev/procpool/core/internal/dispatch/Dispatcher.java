package dev.procpool.core.internal.dispatch;

import dev.procpool.FailureReason;
import dev.procpool.PoolConfig;
import dev.procpool.PoolState;
import dev.procpool.RemoteError;
import dev.procpool.TaskFailedException;
import dev.procpool.TaskRejectedException;
import dev.procpool.TaskRequest;
import dev.procpool.TaskState;
import dev.procpool.WorkerGroup;
import dev.procpool.WorkerSnapshot;
import dev.procpool.WorkerStartupException;
import dev.procpool.WorkerState;
import dev.procpool.core.internal.process.ExitStatus;
import dev.procpool.core.internal.process.WorkerProcess;
import dev.procpool.core.internal.protocol.Frame;
import dev.procpool.core.internal.protocol.FrameCodec;
import dev.procpool.core.internal.queue.PriorityHeap;
import dev.procpool.core.internal.queue.TaskQueue;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The one owner of scheduling state: the queue, the workers' states and the tasks' states change only here, under
 * one short lock. Callers (submitting threads, worker reader threads, the maintenance thread) hold the lock only to
 * decide; the I/O those decisions need (writing frames, launching and signalling processes, completing futures)
 * is collected in {@link Effects} and carried out after the lock is released.
 *
 * <p>Maintenance ({@link #maintain(long)}) is a function of the time it is given, so tests drive heartbeat
 * checks and timeouts with a fake ticker.
 */
final class Dispatcher {
    private static final Logger LOG = LoggerFactory.getLogger(Dispatcher.class);

    private final PoolConfig config;
    private final FrameCodec codec;
    private final ThreadFactory threads;
    private final Runnable wakeMaintenance;

    private final ReentrantLock lock = new ReentrantLock();
    private final Condition terminated = lock.newCondition();
    private final TaskQueue<TaskRecord> queue = new PriorityHeap<>();
    /** Tasks accepted and not yet released: not terminal, or terminal but still held by a worker. */
    private final Map<String, TaskRecord> liveTasks = new HashMap<>();
    private final List<WorkerRecord> workers = new ArrayList<>();
    private final Map<String, GroupRuntime> groups = new LinkedHashMap<>();
    private PoolState state = PoolState.NEW;
    private long sequence;
    private int workerCounter;
    private long roundRobin;

    Dispatcher(PoolConfig config, FrameCodec codec, ThreadFactory threads, Runnable wakeMaintenance) {
        this.config = config;
        this.codec = codec;
        this.threads = threads;
        this.wakeMaintenance = wakeMaintenance;
        for (WorkerGroup group : config.groups()) {
            groups.put(group.name(), new GroupRuntime(group));
        }
    }

    private long now() {
        return config.ticker().read();
    }

    // ------------------------------------------------------------------ lifecycle

    /** Launches every group's workers; returns their ready futures. */
    List<WorkerRecord> start() {
        Effects fx = new Effects();
        List<WorkerRecord> started = new ArrayList<>();
        lock.lock();
        try {
            if (state != PoolState.NEW) {
                throw new IllegalStateException("the pool was started already");
            }
            for (GroupRuntime group : groups.values()) {
                for (int i = 0; i < group.config.workers(); i++) {
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

    /** Stops accepting tasks; workers stop once the queue and the workers are empty. */
    void shutdown() {
        Effects fx = new Effects();
        lock.lock();
        try {
            if (state.acceptsTasks() || state == PoolState.NEW) {
                state = PoolState.DRAINING;
                LOG.info("pool {} shutting down: {} queued, {} running", config.name(), queue.size(), runningCount());
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
                neverStarted.add(task.request);
                finishLocked(task, TaskState.CANCELLED, failure(task, FailureReason.CANCELLED, null,
                        "the pool was shut down before the task started"), fx);
            }
            for (WorkerRecord worker : workers) {
                for (TaskRecord task : List.copyOf(worker.inFlight.values())) {
                    if (!task.state.isTerminal()) {
                        finishLocked(task, TaskState.CANCELLED, failure(task, FailureReason.CANCELLED, null,
                                "the pool was shut down while the task ran"), fx);
                    }
                }
                beginStopLocked(worker, null, "pool shut down", StopMode.CLOSE_INPUT, fx);
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

    /** Last resort (JVM exit): kills every worker process tree at once, without waiting. */
    void killAllNow() {
        List<WorkerProcess> processes = new ArrayList<>();
        lock.lock();
        try {
            for (WorkerRecord worker : workers) {
                if (worker.process != null) {
                    processes.add(worker.process);
                }
            }
        } finally {
            lock.unlock();
        }
        for (WorkerProcess process : processes) {
            process.closeStdin();
            process.kill();
        }
    }

    /** The processes of the current workers, for the final check that none survives. */
    List<WorkerProcess> processes() {
        lock.lock();
        try {
            return workers.stream().map(w -> w.process).filter(p -> p != null).toList();
        } finally {
            lock.unlock();
        }
    }

    // ------------------------------------------------------------------ tasks

    /** Accepts a task or throws; dispatches it if a worker is free. */
    void submit(TaskRecord task) {
        Effects fx = new Effects();
        lock.lock();
        try {
            if (!state.acceptsTasks()) {
                throw new TaskRejectedException(TaskRejectedException.Kind.SHUT_DOWN, "pool \"" + config.name()
                        + "\" does not accept tasks in state " + state + "; task " + task.id + " ("
                        + task.type() + ") was not queued");
            }
            if (liveTasks.containsKey(task.id)) {
                throw new TaskRejectedException(TaskRejectedException.Kind.DUPLICATE_ID, "task id \"" + task.id
                        + "\" is already in use in pool \"" + config.name() + "\"; ids must be unique among the "
                        + "pool's unfinished tasks");
            }
            if (groups.values().stream().noneMatch(g -> g.mayServe(task.type()))) {
                throw new TaskRejectedException(TaskRejectedException.Kind.NO_CAPABLE_WORKER, "no worker of pool \""
                        + config.name() + "\" serves task type \"" + task.type() + "\"; the workers serve "
                        + servedTypesLocked());
            }
            liveTasks.put(task.id, task);
            queue.add(task);
            dispatchLocked(fx);
        } finally {
            lock.unlock();
        }
        fx.run();
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
            cancelled = cancelLocked(task, fx);
        } finally {
            lock.unlock();
        }
        fx.run();
        return cancelled;
    }

    private boolean cancelLocked(TaskRecord task, Effects fx) {
        if (task.state.isTerminal()) {
            return false;
        }
        TaskFailedException cancelled = failure(task, FailureReason.CANCELLED, null, "cancelled by the caller");
        if (task.state == TaskState.RUNNING) {
            WorkerRecord worker = task.worker;
            // The worker keeps the slot until it answers the cancel or is killed at cancelKillAt.
            task.cancelKillAt = now() + config.cancelGracePeriod().toNanos();
            fx.send(worker, codec.encodeCancel(task.id));
            wakeMaintenance.run();
        } else {
            queue.remove(task);
        }
        finishLocked(task, TaskState.CANCELLED, cancelled, fx);
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
            TaskRecord task = queue.peekFirst(t -> available.stream().anyMatch(w -> w.canRun(t)));
            if (task == null) {
                return;
            }
            available.removeIf(w -> !w.canRun(task));
            WorkerRecord worker = available.get((int) (roundRobin++ % available.size()));
            queue.remove(task);
            startAttemptLocked(task, worker, fx);
        }
    }

    private void startAttemptLocked(TaskRecord task, WorkerRecord worker, Effects fx) {
        long now = now();
        task.attempts++;
        task.state = TaskState.RUNNING;
        task.worker = worker;
        task.dispatchedAt = now;
        task.deadline = task.timeoutNanos > 0 ? now + task.timeoutNanos : Long.MAX_VALUE;
        worker.inFlight.put(task.id, task);
        worker.state = WorkerState.BUSY;
        long timeoutMs = task.timeoutNanos > 0 ? Math.max(1, TimeUnit.NANOSECONDS.toMillis(task.timeoutNanos)) : 0;
        fx.sendTask(worker, task, task.attempts, timeoutMs);
    }

    /** Moves a task to a terminal state and schedules its future's completion. */
    private void finishLocked(TaskRecord task, TaskState terminal, Object outcome, Effects fx) {
        task.state = terminal;
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
        }
    }

    private TaskFailedException failure(TaskRecord task, FailureReason reason, RemoteError remote, String detail) {
        return new TaskFailedException(task.id, task.type(), reason, task.attempts, remote, detail);
    }

    // ------------------------------------------------------------------ worker events

    private WorkerRecord spawnLocked(GroupRuntime group, Effects fx) {
        WorkerRecord worker = new WorkerRecord("w-" + (++workerCounter), group, now());
        workers.add(worker);
        fx.add(() -> launch(worker));
        return worker;
    }

    private void launch(WorkerRecord worker) {
        WorkerProcess.LaunchSpec spec = WorkerCommands.launchSpec(config, worker.group.config, worker.id);
        try {
            WorkerProcess.launch(worker.id, spec, codec, config.maxFrameBytes(), threads, new Events(worker));
        } catch (IOException | RuntimeException e) {
            Effects fx = new Effects();
            lock.lock();
            try {
                String problem = "cannot start worker " + worker.id + " of group \"" + worker.group.name()
                        + "\" with command " + spec.argv() + ": " + e.getMessage();
                LOG.error(problem);
                worker.state = WorkerState.DEAD;
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
        public void onLaunched(WorkerProcess process) {
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
        public void onFrame(Frame frame, byte[] line) {
            Effects fx = new Effects();
            lock.lock();
            try {
                onFrameLocked(worker, frame, line, fx);
            } finally {
                lock.unlock();
            }
            fx.run();
        }

        @Override
        public void onProtocolError(String problem) {
            Effects fx = new Effects();
            lock.lock();
            try {
                LOG.warn("worker {} broke the protocol: {}; killing it", worker, problem);
                beginStopLocked(worker, FailureReason.PROTOCOL_ERROR, problem, StopMode.KILL, fx);
            } finally {
                lock.unlock();
            }
            fx.run();
        }

        @Override
        public void onExit(ExitStatus status) {
            Effects fx = new Effects();
            lock.lock();
            try {
                onExitLocked(worker, status, fx);
            } finally {
                lock.unlock();
            }
            fx.run();
        }
    }

    private void onFrameLocked(WorkerRecord worker, Frame frame, byte[] line, Effects fx) {
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
                worker.rssBytes = heartbeat.rssBytes();
            }
            worker.heapUsedBytes = heartbeat.heapUsedBytes();
        } else if (frame instanceof Frame.Ready ready) {
            onReadyLocked(worker, ready, now, fx);
        } else if (frame instanceof Frame.NotAFrame notAFrame) {
            worker.nonFrameLines++;
            String text = new String(line, 0, Math.min(line.length, 300), StandardCharsets.UTF_8);
            LOG.warn("worker {} wrote a line to stdout that is not a frame ({}), ignored: {}", worker.id,
                    notAFrame.why(), text);
        } else if (frame instanceof Frame.Log log) {
            LOG.info("[{}] {} {}", worker.id, log.level(), log.message());
        } else {
            LOG.debug("worker {} sent a frame this host ignores: {}", worker.id, frame);
        }
    }

    private void onReadyLocked(WorkerRecord worker, Frame.Ready ready, long now, Effects fx) {
        if (worker.state != WorkerState.STARTING) {
            LOG.warn("worker {} sent ready twice; ignored", worker);
            return;
        }
        if (ready.protocol() != FrameCodec.PROTOCOL_VERSION) {
            beginStopLocked(worker, FailureReason.STARTUP_FAILURE, "the worker speaks protocol version "
                    + ready.protocol() + " but the host speaks " + FrameCodec.PROTOCOL_VERSION, StopMode.KILL, fx);
            return;
        }
        worker.state = WorkerState.IDLE;
        worker.readyAt = now;
        worker.taskTypes = Set.copyOf(ready.taskTypes());
        worker.capabilities = Set.copyOf(ready.capabilities());
        worker.maxConcurrency = ready.maxConcurrency();
        if (worker.group.announcedTaskTypes == null || !worker.taskTypes.isEmpty()) {
            worker.group.announcedTaskTypes = worker.taskTypes;
        }
        LOG.debug("worker {} ready in {} ms, serving {}", worker, TimeUnit.NANOSECONDS.toMillis(now - worker.launchedAt),
                worker.taskTypes.isEmpty() ? "any type" : worker.taskTypes);
        fx.add(() -> worker.ready.complete(null));
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
                finishLocked(task, TaskState.FAILED, failure(task, FailureReason.TIMEOUT, null,
                        "no answer within " + Duration.ofNanos(task.timeoutNanos)), fx);
            } else if (answer instanceof Frame.Result result) {
                finishLocked(task, TaskState.SUCCEEDED, new DefaultTaskResult(task.id, task.type(), result.result(),
                        worker.id, worker.pid, task.attempts, Duration.ofNanos(task.dispatchedAt - task.queuedAt),
                        Duration.ofNanos(now - task.dispatchedAt), codec.mapper()), fx);
            } else {
                Frame.Error error = (Frame.Error) answer;
                FailureReason reason = switch (error.kind()) {
                    case "UNKNOWN_TASK_TYPE" -> FailureReason.UNKNOWN_TASK_TYPE;
                    case "OUT_OF_MEMORY" -> FailureReason.OUT_OF_MEMORY;
                    default -> FailureReason.HANDLER_ERROR;
                };
                RemoteError remote = new RemoteError(error.errorClass(), error.message(), error.stack());
                finishLocked(task, TaskState.FAILED, failure(task, reason, remote, null), fx);
                if (reason == FailureReason.OUT_OF_MEMORY) {
                    beginStopLocked(worker, FailureReason.OUT_OF_MEMORY, "the worker reported running out of memory",
                            StopMode.CLOSE_INPUT, fx);
                }
            }
        }
        dispatchLocked(fx);
        stopIdleWorkersIfDrained(fx);
    }

    private void onExitLocked(WorkerRecord worker, ExitStatus status, Effects fx) {
        boolean wasStarting = worker.state == WorkerState.STARTING;
        worker.state = WorkerState.DEAD;
        worker.exitStatus = status;
        workers.remove(worker);
        FailureReason reason = worker.stopCause != null ? worker.stopCause : FailureReason.WORKER_CRASHED;
        String detail = "worker " + worker.id + " (pid " + worker.pid + ") " + status
                + (worker.stopDetail != null ? ": " + worker.stopDetail : "");
        if (worker.stopCause == null && !wasStarting && worker.stopStage == WorkerRecord.StopStage.NONE) {
            LOG.warn("worker {} exited unexpectedly: {}; stderr tail:\n{}", worker, status,
                    worker.process == null ? "" : worker.process.stderrTail().text());
        }
        for (TaskRecord task : List.copyOf(worker.inFlight.values())) {
            releaseFromWorkerLocked(task, worker);
            if (!task.state.isTerminal()) {
                FailureReason taskReason = task.timedOut ? FailureReason.TIMEOUT : reason;
                finishLocked(task, TaskState.FAILED, failure(task, taskReason, null, detail), fx);
            }
        }
        if (wasStarting) {
            String tail = worker.process == null ? "(no output)" : worker.process.stderrTail().text();
            String problem = "worker " + worker.id + " of group \"" + worker.group.name() + "\" (command "
                    + WorkerCommands.argv(worker.group.config.spec()) + ") "
                    + (worker.stopDetail != null ? worker.stopDetail + "; it " : "") + "ended before it was ready: "
                    + status + "; stderr tail:\n" + tail;
            fx.add(() -> worker.ready.completeExceptionally(new WorkerStartupException(problem)));
        }
        afterWorkerGoneLocked(worker, fx);
    }

    private void afterWorkerGoneLocked(WorkerRecord worker, Effects fx) {
        boolean needed = state.acceptsTasks() || (state == PoolState.DRAINING && !queue.isEmpty());
        boolean intentional = worker.stopCause == null && worker.isStopping();
        if (needed && !intentional) {
            long alive = workers.stream().filter(w -> w.group == worker.group && !w.isStopping()).count();
            if (alive < worker.group.config.workers()) {
                LOG.info("replacing worker {} of group \"{}\"", worker.id, worker.group.name());
                spawnLocked(worker.group, fx);
            }
        }
        dispatchLocked(fx);
        stopIdleWorkersIfDrained(fx);
        terminateIfDoneLocked();
    }

    private void terminateIfDoneLocked() {
        if (state == PoolState.DRAINING && workers.isEmpty()) {
            state = PoolState.TERMINATED;
            LOG.info("pool {} terminated", config.name());
            terminated.signalAll();
        }
    }

    /** While draining, idle workers are asked to exit once nothing is queued or running. */
    private void stopIdleWorkersIfDrained(Effects fx) {
        if (state != PoolState.DRAINING || !queue.isEmpty()) {
            return;
        }
        boolean anyRunning = workers.stream().anyMatch(w -> !w.inFlight.isEmpty());
        if (anyRunning) {
            return;
        }
        for (WorkerRecord worker : workers) {
            beginStopLocked(worker, null, "pool shut down", StopMode.ASK, fx);
        }
        terminateIfDoneLocked();
    }

    // ------------------------------------------------------------------ stopping workers

    /** How a stop begins; it escalates to SIGTERM and then SIGKILL after a grace period each. */
    enum StopMode {
        /** A shutdown frame and end of input: for idle workers. */
        ASK,
        /** End of input only: the worker must exit at once. */
        CLOSE_INPUT,
        /** SIGTERM at once: for workers that stopped answering. */
        TERMINATE,
        /** SIGKILL at once: for workers that broke the protocol. */
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
        WorkerProcess process = worker.process;
        boolean first = worker.stopStage == WorkerRecord.StopStage.NONE;
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
                worker.stopStage = WorkerRecord.StopStage.TERMINATED;
                if (process != null) {
                    fx.add(() -> {
                        process.rememberDescendants();
                        process.terminate();
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
     * Checks start-up deadlines, heartbeats, task timeouts and stop escalation at time {@code now}, and acts.
     * Called by the maintenance thread, and by tests with a fake time.
     */
    void maintain(long now) {
        Effects fx = new Effects();
        lock.lock();
        try {
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
                    LOG.warn("worker {} sent nothing for {} ms (heartbeat timeout {}); killing it as a zombie",
                            worker, TimeUnit.NANOSECONDS.toMillis(now - worker.lastFrameAt),
                            config.heartbeatTimeout());
                    beginStopLocked(worker, FailureReason.HUNG, "no heartbeat for "
                            + Duration.ofNanos(now - worker.lastFrameAt), StopMode.TERMINATE, fx);
                    continue;
                }
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
                        break;
                    }
                }
            }
        } finally {
            lock.unlock();
        }
        fx.run();
    }

    private void escalateLocked(WorkerRecord worker, long now, long grace, Effects fx) {
        if (now - worker.stopStageAt < grace || worker.process == null) {
            return;
        }
        WorkerProcess process = worker.process;
        switch (worker.stopStage) {
            case ASKED -> {
                worker.stopStage = WorkerRecord.StopStage.TERMINATED;
                worker.stopStageAt = now;
                LOG.info("worker {} did not exit within {}; sending SIGTERM", worker, config.stopGracePeriod());
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

    // ------------------------------------------------------------------ views

    List<WorkerSnapshot> workerSnapshots() {
        lock.lock();
        try {
            long now = now();
            return workers.stream()
                    .sorted(Comparator.comparingInt(w -> Integer.parseInt(w.id.substring(2))))
                    .map(w -> new WorkerSnapshot(w.id, w.group.name(), w.pid, w.state,
                            w.isReady() && now - w.lastFrameAt < config.heartbeatTimeout().toNanos(),
                            w.tasksServed, List.copyOf(w.inFlight.keySet()), Duration.ofNanos(now - w.launchedAt),
                            Duration.ofNanos(now - w.lastFrameAt), w.rssBytes, w.heapUsedBytes))
                    .toList();
        } finally {
            lock.unlock();
        }
    }

    private int runningCount() {
        return workers.stream().mapToInt(w -> w.inFlight.size()).sum();
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

    /** I/O decided under the lock and carried out after it is released, in order. */
    private final class Effects {
        private final List<Runnable> actions = new ArrayList<>(4);
        private List<Object[]> completions;

        void add(Runnable action) {
            actions.add(action);
        }

        void send(WorkerRecord worker, byte[] frame) {
            WorkerProcess process = worker.process;
            if (process != null) {
                actions.add(() -> process.send(frame));
            }
        }

        void sendTask(WorkerRecord worker, TaskRecord task, int attempt, long timeoutMs) {
            WorkerProcess process = worker.process;
            actions.add(() -> task.frameEnd = process.send(
                    codec.encodeTask(task.id, task.type(), attempt, timeoutMs, task.payloadJson)));
        }

        void complete(TaskRecord task, Object outcome) {
            if (completions == null) {
                completions = new ArrayList<>(2);
            }
            completions.add(new Object[] {task, outcome});
        }

        /** Frames go out first so workers start on new tasks before callers' callbacks run. */
        void run() {
            for (Runnable action : actions) {
                try {
                    action.run();
                } catch (RuntimeException e) {
                    LOG.error("procpool: an effect failed", e);
                }
            }
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
    }
}
