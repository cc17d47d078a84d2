package dev.procpool;

/**
 * Why a task attempt failed. Each reason has one meaning; the pool decides per reason whether the task is
 * retried and whether the worker is replaced.
 */
public enum FailureReason {
    /** The handler threw or returned an error frame. The worker stays and serves the next task. */
    HANDLER_ERROR,
    /** No handler in the worker serves the task's type. Never retried. */
    UNKNOWN_TASK_TYPE,
    /**
     * The task ran past its timeout. The worker is sent a {@code cancel}: it is kept if the task ends within the
     * cancel grace period, and replaced if not. Not retried by default.
     */
    TIMEOUT,
    /** The worker process exited while running the task (exit code or signal recorded). */
    WORKER_CRASHED,
    /** The worker ran out of memory (a reported OutOfMemoryError, or killed by SIGKILL under memory pressure). */
    OUT_OF_MEMORY,
    /** The worker stopped sending heartbeats and was killed as a zombie. */
    HUNG,
    /** The worker broke the protocol (for example a frame over the size limit). */
    PROTOCOL_ERROR,
    /**
     * No worker that could run the task could start: its group failed to start workers
     * {@link RestartPolicy#startFailuresBeforeFailingTasks()} times in a row with none ready. The failure's detail
     * carries the last launch error. Also the reason a worker that dies before {@code ready} is replaced.
     */
    STARTUP_FAILURE,
    /** The task was cancelled by the caller or by {@link WorkerPool#shutdownNow()}. */
    CANCELLED,
    /** The pool refused the task (queue full or shut down). */
    REJECTED,
    /**
     * The host running the attempt stopped renewing its lease (it crashed, was killed, lost the network or paused
     * past the lease timeout), so another host, or the same one restarted, closed the attempt and took the task
     * over. Only a durable task store produces it. The attempt counts: a task that keeps killing its host ends in
     * the dead-letter queue.
     */
    HOST_LOST
}
