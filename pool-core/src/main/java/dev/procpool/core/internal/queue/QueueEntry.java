package dev.procpool.core.internal.queue;

/**
 * What the queue needs of a task: a rank (lower runs first) fixed at enqueue time, a sequence number that breaks
 * ties in submission order, and a slot where the heap keeps the entry's position for O(log n) removal.
 */
public interface QueueEntry {
    /** Entries with equal routing keys can run on exactly the same workers. */
    default Object routingKey() {
        return "";
    }

    long rank();

    long sequence();

    int queueIndex();

    void queueIndex(int index);
}
