package dev.procpool.core.internal.engine;

import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The output of ended tasks, kept for a retention period and bounded in entries (oldest dropped first). Guarded
 * by the engine's lock; time comes from the caller.
 */
final class OutputStore {
    static final int MAX_TASKS = 10_000;

    private record Entry(List<String> lines, long expiresAt) {
    }

    private final long retentionNanos;
    private final LinkedHashMap<String, Entry> entries = new LinkedHashMap<>();

    OutputStore(long retentionNanos) {
        this.retentionNanos = retentionNanos;
    }

    void put(String taskId, List<String> lines, long now) {
        prune(now);
        entries.remove(taskId);
        if (entries.size() >= MAX_TASKS) {
            Iterator<String> oldest = entries.keySet().iterator();
            oldest.next();
            oldest.remove();
        }
        entries.put(taskId, new Entry(List.copyOf(lines), now + retentionNanos));
    }

    Optional<List<String>> get(String taskId, int maxLines, long now) {
        prune(now);
        Entry entry = entries.get(taskId);
        if (entry == null) {
            return Optional.empty();
        }
        List<String> lines = entry.lines();
        return Optional.of(lines.subList(Math.max(0, lines.size() - maxLines), lines.size()));
    }

    private void prune(long now) {
        for (Iterator<Map.Entry<String, Entry>> it = entries.entrySet().iterator(); it.hasNext(); ) {
            if (it.next().getValue().expiresAt() - now > 0) {
                break; // entries are in insertion order, so expiry order
            }
            it.remove();
        }
    }
}
