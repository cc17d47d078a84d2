package dev.procpool.core.internal.retry;

import dev.procpool.FailureReason;
import dev.procpool.RetryPolicy;

/**
 * What happens to a task after a failed attempt, as a pure function of its policy, the failure and the pool's
 * state: retried after a backoff, or ended. The random number for jitter is an argument, so tests choose it.
 *
 * @param retry      whether the task is tried again
 * @param delayNanos how long it waits first (0 when not retried)
 */
public record RetryDecision(boolean retry, long delayNanos) {
    private static final RetryDecision END = new RetryDecision(false, 0);

    /**
     * @param attemptsMade   attempts so far, the failed one included (attempts count when dispatched)
     * @param retryable      what the worker said of the error (only handler errors carry it)
     * @param poolRunsTasks  whether the pool still runs tasks (running, degraded or draining)
     * @param random         a number in [0, 1) for the jitter
     */
    public static RetryDecision after(RetryPolicy policy, FailureReason reason, int attemptsMade, boolean retryable,
                                      boolean poolRunsTasks, double random) {
        if (!poolRunsTasks || !policy.shouldRetry(reason, attemptsMade, retryable)) {
            return END;
        }
        return new RetryDecision(true, Backoff.delayNanos(attemptsMade, policy.initialDelay().toNanos(),
                policy.multiplier(), policy.maxDelay().toNanos(), policy.jitter(), random));
    }
}
