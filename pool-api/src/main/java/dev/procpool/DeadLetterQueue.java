package dev.procpool;

import java.util.List;
import java.util.Optional;

/**
 * Tasks that failed for good: they used up their attempts, or failed in a way that is not retried. Bounded: when
 * full, the oldest entry is evicted and counted. Thread-safe.
 */
public interface DeadLetterQueue {
    /** {@return the entries, oldest first} */
    List<DeadLetter> list();

    /** {@return the number of entries} */
    int size();

    /** {@return the most entries kept} */
    int capacity();

    /**
     * The entry of a task, if it is in the queue.
     *
     * @param taskId the id of the dead-lettered task
     * @return the entry, or empty if no entry has this id
     */
    Optional<DeadLetter> get(String taskId);

    /**
     * Removes the entry and submits its task again, with its id, type, priority and payload and a fresh attempt
     * budget.
     *
     * @param taskId the id of the dead-lettered task
     * @return the handle of the task submitted again
     * @throws IllegalArgumentException if no entry has this id
     * @throws TaskRejectedException    if the pool does not accept the task (the entry is kept)
     */
    TaskHandle redrive(String taskId);

    /**
     * Removes one entry; returns whether it was there.
     *
     * @param taskId the id of the dead-lettered task
     * @return {@code true} if an entry was removed
     */
    boolean remove(String taskId);

    /**
     * Removes every entry.
     *
     * @return how many entries there were
     */
    int purge();

    /** {@return the number of entries added since the pool started} */
    long added();

    /** {@return the number of entries evicted because the queue was full} */
    long evicted();
}
