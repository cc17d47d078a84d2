package dev.procpool.core.internal.retry;

import dev.procpool.FailureReason;
import dev.procpool.RetryPolicy;

/**
 * What happens to a task after a failed attempt, as a pure function of its policy, the failure and the pool's
 * state. The rule for the dead-letter queue: it holds the tasks the pool <em>gave up retrying</em> (poison
 * suspects: the policy retries their failure, and their attempts ran out); a failure the policy does not retry (a
 * handler error by default, a {@code NonRetryableException}, an unknown task type) is a final, expected outcome and
 * ends the task {@code FAILED}.
 *
 * @param outcome    retried, dead-lettered, or failed
 * @param delayNanos how long a retried task waits first (0 otherwise)
 */
public record RetryDecision(Outcome outcome, long delayNanos) {
    /** The three ways an attempt's failure can go. */
    public enum Outcome {
        /** Tried again after the backoff. */
        RETRY,
        /** The policy retries this failure, but the attempts ran out: a poison suspect. */
        DEAD_LETTER,
        /** A failure the policy does not retry (or the pool no longer runs tasks): the task fails. */
        FAIL
    }

    private static final RetryDecision DEAD_LETTER = new RetryDecision(Outcome.DEAD_LETTER, 0);
    private static final RetryDecision FAIL = new RetryDecision(Outcome.FAIL, 0);

    public boolean retry() {
        return outcome == Outcome.RETRY;
    }

    /**
     * @param attemptsMade   attempts so far, the failed one included (attempts count when dispatched)
     * @param retryable      what the worker said of the error (only handler errors carry it)
     * @param poolRunsTasks  whether the pool still runs tasks (running, degraded or draining)
     * @param random         a number in [0, 1) for the jitter
     */
    public static RetryDecision after(RetryPolicy policy, FailureReason reason, int attemptsMade, boolean retryable,
                                      boolean poolRunsTasks, double random) {
        boolean retriedReason = retryable && policy.retryOn().contains(reason);
        if (!retriedReason || !poolRunsTasks) {
            return FAIL;
        }
        if (!policy.shouldRetry(reason, attemptsMade, true)) {
            return DEAD_LETTER;
        }
        return new RetryDecision(Outcome.RETRY, Backoff.delayNanos(attemptsMade, policy.initialDelay().toNanos(),
                policy.multiplier(), policy.maxDelay().toNanos(), policy.jitter(), random));
    }
}
