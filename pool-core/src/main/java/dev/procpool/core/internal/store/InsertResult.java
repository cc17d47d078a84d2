package dev.procpool.core.internal.store;

import dev.procpool.TaskState;

import java.util.Objects;

/**
 * What an insert did with one task.
 *
 * @param id      the task's id
 * @param created true if this call inserted it; false if a task with this id already existed (in any state,
 *                ended ones included while they are retained) and was left as it was
 * @param state   the task's state after the call
 */
public record InsertResult(String id, boolean created, TaskState state) {
    public InsertResult {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(state, "state");
    }
}
