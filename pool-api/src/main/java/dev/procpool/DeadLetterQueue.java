package dev.procpool;

import java.util.List;
import java.util.Optional;

/**
 * Tasks that failed for good: they used up their attempts, or failed in a way that is not retried. Bounded: when
 * full, the oldest entry is evicted and counted. Thread-safe.
 */
public interface DeadLetterQueue {
    /** The entries, oldest first. */
    List<DeadLetter> list();

    /** The number of entries. */
    int size();

    /** The most entries kept. */
    int capacity();

    /** The entry of a task, if it is in the queue. */
    Optional<DeadLetter> get(String taskId);

    /**
     * Removes the entry and submits its task again, with its id, type, priority and payload and a fresh attempt
     * budget.
     *
     * @throws IllegalArgumentException if no entry has this id
     * @throws TaskRejectedException    if the pool does not accept the task (the entry is kept)
     */
    TaskHandle redrive(String taskId);

    /** Removes one entry; returns whether it was there. */
    boolean remove(String taskId);

    /** Removes every entry; returns how many there were. */
    int purge();

    /** Entries added since the pool started. */
    long added();

    /** Entries evicted because the queue was full. */
    long evicted();
}
