package dev.procpool.core.internal.retry;

/**
 * Exponential backoff with jitter, as a pure function: the random number is an argument, so tests choose it.
 */
public final class Backoff {
    private Backoff() {
    }

    /**
     * The delay before try number {@code failures + 1}, after {@code failures} consecutive failures (1 or more):
     * {@code initial × multiplier^(failures-1)}, capped at {@code max}, then scaled by {@code 1 + jitter × (2r − 1)}
     * (so ± jitter) and capped at {@code max} again.
     *
     * @param random a number in [0, 1)
     */
    public static long delayNanos(int failures, long initialNanos, double multiplier, long maxNanos, double jitter,
                                  double random) {
        if (failures < 1) {
            return 0;
        }
        double base = initialNanos * Math.pow(multiplier, failures - 1);
        double capped = Math.min(base, maxNanos);
        double spread = capped * (1 + jitter * (2 * random - 1));
        return (long) Math.max(0, Math.min(spread, maxNanos));
    }
}
