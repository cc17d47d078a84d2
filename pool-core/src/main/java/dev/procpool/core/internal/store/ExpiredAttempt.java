package dev.procpool.core.internal.store;

import dev.procpool.RetryPolicy;

import java.time.Instant;
import java.util.Objects;

/**
 * An attempt whose lease expired, for the engine's {@link RescueDecider}.
 *
 * @param lease       the attempt
 * @param type        the task type
 * @param retryPolicy the task's stored retry policy
 * @param leaseOwner  the host that held it
 * @param claimedAt   when the attempt started
 */
public record ExpiredAttempt(LeaseRef lease, String type, RetryPolicy retryPolicy, String leaseOwner,
                             Instant claimedAt) {
    public ExpiredAttempt {
        Objects.requireNonNull(lease, "lease");
        Objects.requireNonNull(retryPolicy, "retryPolicy");
    }
}
