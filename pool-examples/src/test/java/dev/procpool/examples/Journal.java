package dev.procpool.examples;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** What a {@link JournalHandler} journal says: how often each task started and ended, and in which processes. */
final class Journal {
    private final Map<String, Integer> starts = new HashMap<>();
    private final Map<String, Integer> ends = new HashMap<>();
    private final Set<Long> pids = new HashSet<>();

    private Journal() {
    }

    static Journal read(Path file) {
        Journal journal = new Journal();
        if (!Files.exists(file)) {
            return journal;
        }
        List<String> lines;
        try {
            lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        for (String line : lines) {
            String[] parts = line.split(" ");
            if (parts.length != 4) {
                continue; // a line being written right now
            }
            (parts[0].equals("start") ? journal.starts : journal.ends).merge(parts[1], 1, Integer::sum);
            journal.pids.add(Long.parseLong(parts[3]));
        }
        return journal;
    }

    int starts(String id) {
        return starts.getOrDefault(id, 0);
    }

    int ends(String id) {
        return ends.getOrDefault(id, 0);
    }

    int totalEnds() {
        return ends.values().stream().mapToInt(Integer::intValue).sum();
    }

    /** Whether some task has started more often than it ended: it runs now (or its worker was killed). */
    boolean anyRunning() {
        return starts.entrySet().stream().anyMatch(e -> e.getValue() > ends(e.getKey()));
    }

    /** The worker processes that ran tasks. */
    Set<Long> pids() {
        return pids;
    }
}
