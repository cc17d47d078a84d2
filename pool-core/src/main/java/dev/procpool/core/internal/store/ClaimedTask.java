package dev.procpool.core.internal.store;

import dev.procpool.RetryPolicy;

import java.time.Duration;
import java.time.Instant;
import java.util.Objects;
import java.util.Set;

/**
 * A task this host claimed: its attempt has started (the attempt number already counts it) and its lease runs
 * until {@code leaseExpires} unless renewed.
 *
 * @param lease                the fence of this attempt (its sequence is the store's insertion order: FIFO within a
 *                             rank)
 * @param type                 the task type
 * @param requiredCapabilities capabilities a worker must have
 * @param payloadJson          the payload as JSON text
 * @param priority             the priority
 * @param rank                 the claim order
 * @param timeout              the attempt timeout, or {@code null}
 * @param retryPolicy          the stored retry policy
 * @param affinityKey          the affinity key, or {@code null}
 * @param submittedAt          when it was submitted
 * @param leaseExpires         when the lease ends without a renewal
 */
public record ClaimedTask(LeaseRef lease, String type, Set<String> requiredCapabilities,
                          String payloadJson, int priority, long rank, Duration timeout, RetryPolicy retryPolicy,
                          String affinityKey, Instant submittedAt, Instant leaseExpires) {
    public ClaimedTask {
        Objects.requireNonNull(lease, "lease");
        requiredCapabilities = Set.copyOf(requiredCapabilities);
    }

    /** The task's id. */
    public String id() {
        return lease.taskId();
    }

    /** The store's insertion order, FIFO within a rank. */
    public long sequence() {
        return lease.sequence();
    }

    /** The attempt number of this claim, from 1. */
    public int attempt() {
        return lease.attempt();
    }
}
