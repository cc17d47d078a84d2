package dev.procpool.core.internal.store;

import dev.procpool.FailureReason;
import dev.procpool.RetryPolicy;
import dev.procpool.TaskState;
import dev.procpool.core.internal.retry.Backoff;

import java.time.Duration;
import java.time.Instant;
import java.util.Objects;
import java.util.function.DoubleSupplier;

/**
 * The engine's verdict on an attempt whose host was lost: try the task again (when), or end it. Called by the store
 * inside its rescue transaction, so it must be quick and must not call the store.
 */
@FunctionalInterface
public interface RescueDecider {
    /** The verdict on one attempt closed with {@link FailureReason#HOST_LOST}. */
    Decision decide(ExpiredAttempt attempt, Instant now);

    /**
     * A verdict.
     *
     * @param retryAt when to try again, or {@code null} to end the task
     * @param state   the terminal state when the task ends ({@code FAILED} or {@code DEAD_LETTERED})
     * @param message the final failure's message when it ends
     */
    record Decision(Instant retryAt, TaskState state, String message) {
        public Decision {
            if ((retryAt == null) == (state == null)) {
                throw new IllegalArgumentException("a decision either retries (retryAt) or ends (state)");
            }
            if (state != null && state != TaskState.FAILED && state != TaskState.DEAD_LETTERED) {
                throw new IllegalArgumentException("a rescued task ends FAILED or DEAD_LETTERED, not " + state);
            }
        }

        /** Try again from this time. */
        public static Decision retryAt(Instant at) {
            return new Decision(Objects.requireNonNull(at, "at"), null, null);
        }

        /** End the task. */
        public static Decision end(TaskState state, String message) {
            return new Decision(null, Objects.requireNonNull(state, "state"), message);
        }
    }

    /**
     * Decides by the task's own retry policy, the way the engine decides for a failure it saw: retried after the
     * policy's backoff if the policy retries {@link FailureReason#HOST_LOST} and attempts remain, else
     * dead-lettered.
     *
     * @param random numbers in [0, 1) for the jitter
     */
    static RescueDecider byRetryPolicy(DoubleSupplier random) {
        Objects.requireNonNull(random, "random");
        return (attempt, now) -> {
            RetryPolicy policy = attempt.retryPolicy();
            int made = attempt.lease().attempt();
            if (policy.shouldRetry(FailureReason.HOST_LOST, made, true)) {
                long delay = Backoff.delayNanos(made, policy.initialDelay().toNanos(), policy.multiplier(),
                        policy.maxDelay().toNanos(), policy.jitter(), random.getAsDouble());
                return Decision.retryAt(now.plus(Duration.ofNanos(delay)));
            }
            return Decision.end(TaskState.DEAD_LETTERED, "host " + attempt.leaseOwner() + " was lost during attempt "
                    + made + " of " + policy.maxAttempts());
        };
    }
}
