package dev.procpool.core.internal.engine;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * How long the tasks of each type take, as the workers report it (the {@code runNanos} of their answers): a longer
 * time is taken at once, a shorter one slowly, so a type that was once long stays long for a while. Only a type known
 * to be short is sent ahead to a busy worker ({@link Dispatcher}), and only behind a task of such a type: a type never
 * answered, or answered by a worker that does not report its times, counts as long.
 *
 * <p>At most {@link #MAX_TYPES} types are remembered, the least recently answered forgotten first. Not thread-safe:
 * guarded by the engine's lock.
 */
final class TaskTimes {
    static final int MAX_TYPES = 4096;
    /** Weight of a shorter time in the average (1/8). */
    private static final int SHORTER_WEIGHT = 8;

    private final Map<String, long[]> byType = new LinkedHashMap<>(16, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, long[]> eldest) {
            return size() > MAX_TYPES;
        }
    };

    /** A worker spent {@code runNanos} on a task of this type (negative: it did not say). */
    void record(String type, long runNanos) {
        if (runNanos < 0) {
            return;
        }
        long[] estimate = byType.get(type);
        if (estimate == null) {
            byType.put(type, new long[] {runNanos});
        } else if (runNanos > estimate[0]) {
            estimate[0] = runNanos;
        } else {
            estimate[0] -= (estimate[0] - runNanos) / SHORTER_WEIGHT;
        }
    }

    /** The time a task of this type is expected to take, in nanoseconds, or -1 when unknown. */
    long nanos(String type) {
        long[] estimate = byType.get(type);
        return estimate == null ? -1 : estimate[0];
    }
}
