package dev.procpool.core.internal.store;

import dev.procpool.TaskState;

import java.util.Objects;

/**
 * One attempt a rescue closed with {@code HOST_LOST}.
 *
 * @param lease      the closed attempt
 * @param leaseOwner the host that had held it
 * @param outcome    {@code null} when the task was queued again, else its terminal state ({@code FAILED},
 *                   {@code DEAD_LETTERED}, or {@code CANCELLED} when a cancel had been requested)
 */
public record RescuedAttempt(LeaseRef lease, String leaseOwner, TaskState outcome) {
    public RescuedAttempt {
        Objects.requireNonNull(lease, "lease");
    }
}
