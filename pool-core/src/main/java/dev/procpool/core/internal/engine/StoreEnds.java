package dev.procpool.core.internal.engine;

import dev.procpool.AttemptRecord;
import dev.procpool.TaskState;

/**
 * Where the end of an attempt goes when the pool keeps its tasks in a durable store: recorded there, fenced by the
 * attempt's lease, and the caller's future completed once the store has it (so that the outcome a caller sees is the
 * one the store keeps). In memory there is none: the engine completes futures itself.
 */
interface StoreEnds {
    /**
     * The task ended, here, in {@code state} with {@code outcome} (a result or a failure); {@code failed} is the record
     * of the attempt that failed, or null for a success (or a cancel before the task reached a worker).
     */
    void ended(TaskRecord task, TaskState state, Object outcome, AttemptRecord failed, Effects fx);

    /** The attempt failed and the task waits in the store to be retried after {@code delayNanos}. */
    void retry(TaskRecord task, AttemptRecord failed, long delayNanos, Effects fx);
}
