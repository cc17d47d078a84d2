package dev.procpool.core.internal.supervise;

import java.util.OptionalLong;

/**
 * Whether a worker should be replaced, as pure functions of what is known of it: recycling by tasks served or age
 * (between tasks), and memory limits (a soft limit retires it after its current tasks, a hard limit kills it).
 */
public final class Recycling {
    /** What a worker's resident memory calls for. */
    public enum MemoryVerdict { WITHIN, OVER_SOFT_LIMIT, OVER_HARD_LIMIT }

    private Recycling() {
    }

    /** Why a worker that served {@code served} tasks should retire at {@code now}, or null if it need not. */
    public static String dueReason(long served, long recycleAfterTasks, long now, long recycleAtAge) {
        if (served >= recycleAfterTasks) {
            return "served " + served + " tasks";
        }
        if (Deadlines.reached(now, recycleAtAge)) {
            return "reached its maximum age";
        }
        return null;
    }

    /** The verdict on a resident set of {@code rss} bytes. */
    public static MemoryVerdict memory(long rss, OptionalLong softLimit, OptionalLong hardLimit) {
        if (hardLimit.isPresent() && rss > hardLimit.getAsLong()) {
            return MemoryVerdict.OVER_HARD_LIMIT;
        }
        if (softLimit.isPresent() && rss > softLimit.getAsLong()) {
            return MemoryVerdict.OVER_SOFT_LIMIT;
        }
        return MemoryVerdict.WITHIN;
    }
}
