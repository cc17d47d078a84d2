package dev.procpool.core.internal.store;

import java.util.Objects;

/**
 * One claimed attempt: the fence every answer must pass. An answer is written only while the task's row still
 * carries this attempt number and lease token; once another host has rescued the attempt, it no longer does.
 *
 * @param taskId   the task
 * @param sequence the task row's sequence (its primary key): fenced statements find the row by it, so they stay
 *                 one index lookup whatever the database's statistics say
 * @param attempt  the attempt number, from 1
 * @param token    the lease token of the claim
 */
public record LeaseRef(String taskId, long sequence, int attempt, long token) {
    public LeaseRef {
        Objects.requireNonNull(taskId, "taskId");
        if (attempt < 1) {
            throw new IllegalArgumentException("attempt must be 1 or more, was " + attempt);
        }
    }
}
