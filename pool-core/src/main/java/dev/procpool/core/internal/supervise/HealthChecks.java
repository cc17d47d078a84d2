package dev.procpool.core.internal.supervise;

/**
 * The checks maintenance makes of each worker and each running task, as pure functions of time: a worker must send
 * {@code ready} within the start-up timeout and then some frame within every heartbeat timeout; a task must end
 * within its timeout, and a task that was told to stop (timeout or cancel) must be gone within the cancel grace
 * period. Each check also says when it falls due next, so that maintenance sleeps exactly until then.
 */
public final class HealthChecks {
    /** The state of a worker's health at a moment. */
    public enum WorkerVerdict { HEALTHY, STARTUP_TIMED_OUT, SILENT }

    /** The state of a running task's time at a moment. */
    public enum TaskVerdict { IN_TIME, TIMED_OUT, CANCEL_GRACE_OVER }

    private HealthChecks() {
    }

    public static WorkerVerdict worker(boolean starting, long launchedAt, long lastFrameAt, long now,
                                       long startupTimeoutNanos, long heartbeatTimeoutNanos) {
        if (starting) {
            return Deadlines.reached(now, launchedAt + startupTimeoutNanos) ? WorkerVerdict.STARTUP_TIMED_OUT
                    : WorkerVerdict.HEALTHY;
        }
        return Deadlines.reached(now, lastFrameAt + heartbeatTimeoutNanos) ? WorkerVerdict.SILENT
                : WorkerVerdict.HEALTHY;
    }

    /** When {@link #worker} next has something to say of a worker that is healthy now. */
    public static long workerDue(boolean starting, long launchedAt, long lastFrameAt, long startupTimeoutNanos,
                                 long heartbeatTimeoutNanos) {
        return starting ? launchedAt + startupTimeoutNanos : lastFrameAt + heartbeatTimeoutNanos;
    }

    /**
     * @param deadline      when the task times out, or {@link Deadlines#NEVER}
     * @param timedOut      whether it was already found timed out (and told to stop)
     * @param cancelKillAt  when the worker must have ended a task it was told to stop, or {@link Deadlines#NEVER}
     */
    public static TaskVerdict task(long deadline, boolean timedOut, long cancelKillAt, long now) {
        if (Deadlines.reached(now, cancelKillAt)) {
            return TaskVerdict.CANCEL_GRACE_OVER;
        }
        if (!timedOut && Deadlines.reached(now, deadline)) {
            return TaskVerdict.TIMED_OUT;
        }
        return TaskVerdict.IN_TIME;
    }

    /** When {@link #task} next has something to say. */
    public static long taskDue(long deadline, boolean timedOut, long cancelKillAt) {
        return timedOut ? cancelKillAt : Deadlines.earlier(deadline, cancelKillAt);
    }
}
