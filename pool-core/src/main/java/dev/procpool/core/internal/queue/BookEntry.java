package dev.procpool.core.internal.queue;

/** What the {@link TaskBook} needs of a task besides its queue order. */
public interface BookEntry extends QueueEntry {
    String id();

    int priority();

    /** When the task was accepted, on the pool's ticker. */
    long submittedAt();

    /** The task enters the queue at {@code now} with this run order. */
    void queued(long now, long rank);

    /** The task waits to be retried until {@code retryAt}. */
    void waitingToRetry(long retryAt);

    /** The task waits for its not-before time, {@code until} on the pool's ticker, before it is queued. */
    void scheduled(long until);

    /** When a task waiting to be retried, or for its not-before time, is due. */
    long retryAt();
}
