package dev.procpool.core.internal.supervise;

import dev.procpool.RestartPolicy;
import dev.procpool.core.internal.retry.Backoff;

import java.util.ArrayDeque;

/**
 * A worker group's restart history, as a function of the time it is told: consecutive failures drive the backoff,
 * restarts within the policy's window drive the intensity limit. Not thread-safe (the dispatcher's lock guards it).
 */
public final class RestartTracker {
    private final RestartPolicy policy;
    private final ArrayDeque<Long> restarts = new ArrayDeque<>();
    private int consecutiveFailures;

    public RestartTracker(RestartPolicy policy) {
        this.policy = policy;
    }

    /**
     * Records an unplanned worker death at {@code now} and returns the delay before its replacement starts. While
     * the intensity limit is exceeded the delay is the policy's maximum.
     */
    public long recordFailure(long now, double random) {
        consecutiveFailures++;
        restarts.addLast(now);
        prune(now);
        if (isOverLimit(now)) {
            return policy.maxDelay().toNanos();
        }
        return Backoff.delayNanos(consecutiveFailures, policy.initialDelay().toNanos(), policy.multiplier(),
                policy.maxDelay().toNanos(), policy.jitter(), random);
    }

    /** A worker of the group has stayed up for the policy's window: the backoff starts over. */
    public void recordStable() {
        consecutiveFailures = 0;
    }

    /** Whether more restarts than allowed happened within the window ending at {@code now}. */
    public boolean isOverLimit(long now) {
        prune(now);
        return restarts.size() > policy.maxRestarts();
    }

    /** Restarts within the window ending at {@code now}. */
    public int restartsInWindow(long now) {
        prune(now);
        return restarts.size();
    }

    /** When the oldest restart still in the window happened, or {@link Deadlines#NEVER} if none is. */
    public long oldestRestart() {
        return restarts.isEmpty() ? Deadlines.NEVER : restarts.peekFirst();
    }

    public int consecutiveFailures() {
        return consecutiveFailures;
    }

    private void prune(long now) {
        long window = policy.window().toNanos();
        while (!restarts.isEmpty() && now - restarts.peekFirst() >= window) {
            restarts.removeFirst();
        }
    }
}
