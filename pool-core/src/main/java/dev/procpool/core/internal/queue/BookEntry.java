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

    /** When a task waiting to be retried is due. */
    long retryAt();
}
