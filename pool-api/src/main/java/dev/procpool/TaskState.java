package dev.procpool;

/** Where a task is in its lifecycle. The last four are terminal: a task reaches exactly one of them. */
public enum TaskState {
    /** Waiting in the queue for a worker. */
    QUEUED,
    /** Waiting for its not-before time ({@link TaskRequest#withNotBefore}); it holds no worker and is not queued yet. */
    SCHEDULED,
    /** Sent to a worker and not yet answered. */
    RUNNING,
    /** A failed attempt is waiting for its retry delay; it holds no worker. */
    RETRY_WAIT,
    /** Completed with a result. */
    SUCCEEDED,
    /** Failed; the future holds a {@link TaskFailedException}. */
    FAILED,
    /** Failed after its retries were used up and recorded in the dead-letter queue. */
    DEAD_LETTERED,
    /** Cancelled before it completed. */
    CANCELLED;

    /** {@return whether no further change can happen to a task in this state} */
    public boolean isTerminal() {
        return this == SUCCEEDED || this == FAILED || this == DEAD_LETTERED || this == CANCELLED;
    }
}
