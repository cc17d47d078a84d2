package dev.procpool.core.internal.supervise;

/**
 * Comparisons of ticker readings, which may be negative and wrap like {@link System#nanoTime()}: compare
 * differences, never values. {@link #NEVER} ({@code Long.MAX_VALUE}) marks a deadline that is not set.
 */
public final class Deadlines {
    /** A deadline that never comes. */
    public static final long NEVER = Long.MAX_VALUE;

    private Deadlines() {
    }

    /** Whether {@code deadline} has come at {@code now}. */
    public static boolean reached(long now, long deadline) {
        return deadline != NEVER && now - deadline >= 0;
    }

    /** The earlier of two deadlines. */
    public static long earlier(long a, long b) {
        if (a == NEVER) {
            return b;
        }
        if (b == NEVER) {
            return a;
        }
        return a - b <= 0 ? a : b;
    }
}
