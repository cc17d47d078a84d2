package dev.procpool;

import java.util.List;
import java.util.Objects;

/**
 * An immutable view of one worker at one moment. Plain values only, so it serializes as is with Jackson.
 *
 * @param id                 the worker's id within its pool, for example {@code w-3}
 * @param group              the worker's group
 * @param pid                the operating-system pid, or -1 before the process is launched
 * @param state              the worker's state
 * @param healthy            whether the worker is answering (heartbeats on time)
 * @param tasksServed        tasks the worker has completed (successfully or with a handler error)
 * @param currentTasks       ids of the tasks the worker is running now
 * @param uptimeMillis       milliseconds since the worker was launched
 * @param millisSinceFrame   milliseconds since the worker last sent any frame (its last sign of life)
 * @param rssBytes           resident memory last reported or sampled, 0 when unknown
 * @param heapUsedBytes      Java heap in use as last reported, 0 when unknown or not a JVM
 */
public record WorkerSnapshot(String id, String group, long pid, WorkerState state, boolean healthy,
                             long tasksServed, List<String> currentTasks, long uptimeMillis,
                             long millisSinceFrame, long rssBytes, long heapUsedBytes) {
    /**
     * Checks the required components and copies the task ids.
     *
     * @param id               the worker's id within its pool
     * @param group            the worker's group
     * @param pid              the operating-system pid, or -1 before the process is launched
     * @param state            the worker's state
     * @param healthy          whether the worker is answering
     * @param tasksServed      tasks the worker has completed
     * @param currentTasks     ids of the tasks the worker is running now
     * @param uptimeMillis     milliseconds since the worker was launched
     * @param millisSinceFrame milliseconds since the worker last sent any frame
     * @param rssBytes         resident memory, 0 when unknown
     * @param heapUsedBytes    Java heap in use, 0 when unknown or not a JVM
     */
    public WorkerSnapshot {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(group, "group");
        Objects.requireNonNull(state, "state");
        currentTasks = List.copyOf(currentTasks);
    }
}
