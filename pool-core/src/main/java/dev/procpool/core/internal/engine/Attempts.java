package dev.procpool.core.internal.engine;

import dev.procpool.AttemptRecord;
import dev.procpool.DeadLetter;
import dev.procpool.FailureReason;
import dev.procpool.PoolEvent;
import dev.procpool.RemoteError;
import dev.procpool.TaskFailedException;
import dev.procpool.TaskState;
import dev.procpool.WorkerState;
import dev.procpool.core.internal.process.ExitStatus;
import dev.procpool.core.internal.process.SafeText;
import dev.procpool.core.internal.protocol.Frame;
import dev.procpool.core.internal.protocol.Payloads;
import dev.procpool.core.internal.queue.TaskBook;
import dev.procpool.core.internal.retry.DeadLetters;
import dev.procpool.core.internal.retry.RetryDecision;
import dev.procpool.core.internal.text.Units;
import dev.procpool.core.internal.Loggers;
import org.slf4j.Logger;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

/**
 * The life of one attempt: dispatched to a worker (the attempt counts from here), answered with a result or an error,
 * or lost with its worker; then the task succeeds, waits to be retried ({@link RetryDecision}), or ends, with every
 * failed attempt's forensics. Every task's future is completed here, once. Called under the engine's lock.
 */
final class Attempts {
    private static final Logger LOG = Loggers.pool();
    /** The most lines of task-thread stacks kept with a failed attempt. */
    private static final int THREAD_DUMP_LINES = 80;

    private final EngineContext ctx;
    private final Counters counters;
    private final TaskBook<TaskRecord> book;
    private final DeadLetters deadLetters;
    private final Outputs outputs;
    private final WorkerStops stops;
    /** Whether the pool still runs tasks (running, degraded or draining): retries only then. */
    private final BooleanSupplier poolRunsTasks;
    /** With a durable task store, where attempt ends go; null in memory. */
    private StoreEnds store;
    /** In memory, the tasks that ended, for {@code task(id)} and late handles. */
    final EndedTasks ended;
    /** How long each type of task takes, for sending tasks ahead. */
    final TaskTimes taskTimes = new TaskTimes();

    Attempts(EngineContext ctx, Counters counters, TaskBook<TaskRecord> book, DeadLetters deadLetters,
             Outputs outputs, WorkerStops stops, BooleanSupplier poolRunsTasks) {
        this.ctx = ctx;
        this.counters = counters;
        this.book = book;
        this.deadLetters = deadLetters;
        this.outputs = outputs;
        this.stops = stops;
        this.poolRunsTasks = poolRunsTasks;
        this.ended = new EndedTasks(ctx.config.outputRetention().toNanos());
    }

    /** With a durable task store: attempt ends are recorded there, and futures completed once it has them. */
    void storeEnds(StoreEnds store) {
        this.store = store;
    }

    /** Sends a task to a worker: a new attempt begins and counts. */
    void start(TaskRecord task, WorkerRecord worker, Effects fx) {
        ctx.assertLocked();
        long now = ctx.now();
        task.attempts++;
        task.state = TaskState.RUNNING;
        task.worker = worker;
        task.lastWorkerPid = worker.pid;
        task.lastWorkerId = worker.id;
        task.dispatchedAt = now;
        task.frameEnd = 0; // set once the frame is written; an answer before that tells the writer nothing
        task.timedOut = false;
        task.peakRssBytes = worker.rssBytes;
        task.clearOutput();
        counters.waitNanos += now - task.queuedAt;
        counters.waits++;
        ctx.trackers.taskDispatched(now - task.queuedAt);
        task.deadline = task.timeoutNanos > 0 ? now + task.timeoutNanos : Long.MAX_VALUE;
        if (worker.inFlight.size() < worker.maxConcurrency) {
            worker.startedAtOnce = task; // nothing ahead of it there: its answer measures a round trip
        }
        worker.inFlight.put(task.id, task);
        worker.state = WorkerState.BUSY;
        long timeoutMs = task.timeoutNanos > 0 ? Math.max(1, TimeUnit.NANOSECONDS.toMillis(task.timeoutNanos)) : 0;
        fx.sendTask(worker, task, task.attempts, timeoutMs);
        if (task.timeoutNanos > 0) {
            ctx.dueAt(task.deadline);
        }
        if (ctx.listening()) {
            ctx.publish(new PoolEvent.TaskStarted(ctx.name(), ctx.clock.instant(), task.id, task.type(), worker.id,
                    task.attempts));
        }
    }

    /**
     * A worker answered one of its tasks. Returns false when it holds no such task (a late answer after a cancel, or
     * a confused worker): then nothing changes.
     */
    boolean onAnswer(WorkerRecord worker, String taskId, Frame answer, Effects fx) {
        ctx.assertLocked();
        TaskRecord task = worker.inFlight.get(taskId);
        if (task == null) {
            LOG.debug("worker {} answered task {} which it does not hold; ignored", worker.id,
                    SafeText.escape(taskId));
            return false;
        }
        long now = ctx.now();
        worker.process.consumedUpTo(task.frameEnd);
        worker.tasksServed++;
        // the worker's time on this task: from its previous answer if the task waited behind it, else from dispatch
        long service = now - Math.max(task.dispatchedAt, worker.lastAnswerAt);
        worker.lastAnswerAt = now;
        counters.serviceNanos = counters.serviceNanos == 0 ? service : (counters.serviceNanos * 15 + service) / 16;
        boolean startedAtOnce = worker.startedAtOnce == task;
        if (startedAtOnce) {
            worker.startedAtOnce = null;
        }
        long workerNanos = runNanos(answer);
        worker.sendAhead.answered(now - task.dispatchedAt, workerNanos, startedAtOnce, worker.maxConcurrency);
        taskTimes.record(task.type(), workerNanos);
        release(task, worker);
        if (task.state.isTerminal()) {
            return true; // cancelled while it ran: the answer only frees the slot
        }
        if (task.timedOut) {
            failed(task, worker, FailureReason.TIMEOUT, "no answer within " + Units.nanos(task.timeoutNanos),
                    null, null, true, fx);
        } else if (answer instanceof Frame.Result result) {
            long runNanos = now - task.dispatchedAt;
            counters.succeeded++;
            counters.runNanos += runNanos;
            counters.runs++;
            ctx.trackers.attemptEnded(runNanos, true);
            finish(task, TaskState.SUCCEEDED, new DefaultTaskResult(task.id, task.type(), result.result(), worker.id,
                    worker.pid, task.attempts, task.dispatchedAt - task.queuedAt, runNanos, task.outputLines(),
                    Payloads.forPool(ctx.config)), fx);
            if (ctx.listening()) {
                ctx.publish(new PoolEvent.TaskCompleted(ctx.name(), ctx.clock.instant(), task.id, task.type(),
                        worker.id, task.attempts, Duration.ofNanos(runNanos)));
            }
        } else if (answer instanceof Frame.UnreadableAnswer unreadable) {
            // the worker is kept: it broke one answer, not the protocol as a whole
            failed(task, worker, FailureReason.PROTOCOL_ERROR, "the worker's " + unreadable.type()
                    + " frame could not be read: " + unreadable.why(), null, null, true, fx);
        } else {
            Frame.Error error = (Frame.Error) answer;
            FailureReason reason = switch (error.kind()) {
                case "UNKNOWN_TASK_TYPE" -> FailureReason.UNKNOWN_TASK_TYPE;
                case "OUT_OF_MEMORY" -> FailureReason.OUT_OF_MEMORY;
                default -> FailureReason.HANDLER_ERROR;
            };
            if (reason == FailureReason.OUT_OF_MEMORY) {
                stops.begin(worker, FailureReason.OUT_OF_MEMORY, "the worker reported running out of memory",
                        WorkerStops.Mode.CLOSE_INPUT, fx);
            }
            failed(task, worker, reason, null, null,
                    new RemoteError(SafeText.escape(error.errorClass()), SafeText.escapeLines(error.message()),
                            SafeText.escapeLines(error.stack())), error.retryable(), fx);
        }
        return true;
    }

    /** What the worker says it spent on the task, or -1. */
    private static long runNanos(Frame answer) {
        if (answer instanceof Frame.Result result) {
            return result.runNanos();
        }
        return answer instanceof Frame.Error error ? error.runNanos() : -1;
    }

    /** The task has left its worker (answered, or the worker died). */
    void release(TaskRecord task, WorkerRecord worker) {
        worker.inFlight.remove(task.id);
        task.worker = null;
        task.cancelKillAt = Long.MAX_VALUE;
        if (task.state.isTerminal()) {
            book.release(task);
        }
        if (worker.inFlight.isEmpty() && worker.state == WorkerState.BUSY) {
            worker.state = WorkerState.IDLE;
            worker.idleSince = ctx.now();
        }
    }

    /** Moves a task to a terminal state and schedules its future's completion (with a store, once it has it). */
    void finish(TaskRecord task, TaskState terminal, Object outcome, Effects fx) {
        task.state = terminal;
        outputs.taskEnded(task, fx);
        if (task.worker == null || !task.worker.inFlight.containsKey(task.id)) {
            book.release(task);
        }
        if (store != null) {
            store.ended(task, terminal, outcome, lastFailedAttempt(task), fx);
        } else {
            ended.put(task, outcome, ctx.clock.instant(), ctx.now());
            fx.complete(task, outcome);
        }
    }

    /** The record of the current attempt if it failed, else null. */
    private static AttemptRecord lastFailedAttempt(TaskRecord task) {
        List<AttemptRecord> failed = task.failedAttempts;
        AttemptRecord last = failed.isEmpty() ? null : failed.get(failed.size() - 1);
        return last != null && last.attempt() == task.attempts ? last : null;
    }

    /**
     * An attempt failed: the task waits to be retried if its policy allows; if the policy retries this failure but
     * the attempts ran out, it ends in the dead-letter queue (a poison suspect); any other failure ends it
     * {@code FAILED} ({@link RetryDecision}).
     */
    void failed(TaskRecord task, WorkerRecord worker, FailureReason reason, String detail, ExitStatus exit,
                RemoteError remote, boolean retryable, Effects fx) {
        failed(task, worker, reason, detail, exit, remote, retryable, false, fx);
    }

    /**
     * As above; {@code neverReachedWorker}: the task's frame was refused by the dead worker's pipe, so it never ran
     * and its retry waits no backoff (the attempt still counts, as every lost attempt does).
     */
    void failed(TaskRecord task, WorkerRecord worker, FailureReason reason, String detail, ExitStatus exit,
                RemoteError remote, boolean retryable, boolean neverReachedWorker, Effects fx) {
        long now = ctx.now();
        task.addFailedAttempt(new AttemptRecord(task.attempts, worker.id, worker.pid, reason, detail,
                exit == null ? null : exit.code(), exit == null || exit.signal() == 0 ? null : exit.signal(),
                Duration.ofNanos(now - task.dispatchedAt), Math.max(task.peakRssBytes, worker.rssBytes),
                forensicOutput(worker), remote));
        counters.failuresByReason.merge(reason, 1L, Long::sum);
        ctx.trackers.attemptEnded(now - task.dispatchedAt, false);
        RetryDecision decision = RetryDecision.after(task.retryPolicy, reason, task.attempts, retryable,
                poolRunsTasks.getAsBoolean(), ctx.random.getAsDouble());
        if (ctx.listening()) {
            ctx.publish(new PoolEvent.TaskFailed(ctx.name(), ctx.clock.instant(), task.id, task.type(), reason,
                    task.attempts, decision.retry()));
        }
        switch (decision.outcome()) {
            case RETRY -> retryLater(task, reason, neverReachedWorker || firstCrashRetriedAtOnce(task, reason) ? 0
                    : decision.delayNanos(), now, fx);
            case DEAD_LETTER -> deadLetter(task, failure(task, reason, remote, detail), fx);
            case FAIL -> fail(task, failure(task, reason, remote, detail), fx);
        }
    }

    /** Whether this failure is the task's first crash and its policy retries that at once (the attempt counts). */
    private static boolean firstCrashRetriedAtOnce(TaskRecord task, FailureReason reason) {
        if (reason != FailureReason.WORKER_CRASHED || !task.retryPolicy.retriesFirstCrashAtOnce()) {
            return false;
        }
        int crashes = 0;
        for (AttemptRecord attempt : task.failedAttempts) { // the failed attempt is already among them
            if (attempt.reason() == FailureReason.WORKER_CRASHED) {
                crashes++;
            }
        }
        return crashes == 1;
    }

    /** Ends a task the pool gave up retrying in the dead-letter queue (or failed, if the queue cannot keep it). */
    private void deadLetter(TaskRecord task, TaskFailedException failure, Effects fx) {
        if (store != null) { // the store keeps the dead letters, with every attempt
            counters.deadLettered++;
            finish(task, TaskState.DEAD_LETTERED, failure, fx);
            return;
        }
        DeadLetter letter = new DeadLetter(task.id, task.type(), task.request.priority(),
                new String(task.payloadJson, StandardCharsets.UTF_8), failure.reason(), failure.getMessage(),
                task.failedAttempts, ctx.clock.instant());
        if (!deadLetters.add(letter, task.request)) {
            fail(task, failure, fx); // capacity 0, or an entry larger than the whole queue may hold
            return;
        }
        counters.deadLettered++;
        finish(task, TaskState.DEAD_LETTERED, failure, fx);
        if (ctx.listening()) {
            ctx.publish(new PoolEvent.TaskDeadLettered(ctx.name(), ctx.clock.instant(), letter));
        }
    }

    /** Ends a task failed: a final, expected failure. */
    void fail(TaskRecord task, TaskFailedException failure, Effects fx) {
        counters.failed++;
        finish(task, TaskState.FAILED, failure, fx);
    }

    private void retryLater(TaskRecord task, FailureReason reason, long delay, long now, Effects fx) {
        counters.retried++;
        LOG.info("task {} ({}) failed with {} on attempt {}; retrying in {}", task.id, task.type(), reason,
                task.attempts, Units.nanos(delay));
        if (ctx.listening()) {
            ctx.publish(new PoolEvent.TaskRetried(ctx.name(), ctx.clock.instant(), task.id, task.type(), reason,
                    task.attempts + 1, Duration.ofNanos(delay)));
        }
        if (store != null) { // it waits in the store, where any host may claim it again
            task.state = TaskState.RETRY_WAIT;
            book.release(task);
            store.retry(task, lastFailedAttempt(task), delay, fx);
        } else if (delay == 0) {
            book.retryLater(task, now);
            book.requeueDue(now);
        } else {
            book.retryLater(task, now + delay);
            ctx.dueAt(now + delay);
        }
    }

    TaskFailedException failure(TaskRecord task, FailureReason reason, RemoteError remote, String detail) {
        return new TaskFailedException(task.id, task.type(), reason, task.attempts, remote, detail,
                task.outputLines(), task.failedAttempts);
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
}
