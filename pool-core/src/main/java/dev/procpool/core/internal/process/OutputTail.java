package dev.procpool.core.internal.process;

import java.util.ArrayDeque;
import java.util.List;

/** The last lines a worker wrote to stderr, bounded in lines and in characters per line. Thread-safe. */
public final class OutputTail {
    public static final int MAX_LINE_CHARS = 1000;

    private final int maxLines;
    private final ArrayDeque<String> lines;

    public OutputTail(int maxLines) {
        this.maxLines = maxLines;
        this.lines = new ArrayDeque<>(maxLines);
    }

    public synchronized void add(String line) {
        if (lines.size() == maxLines) {
            lines.removeFirst();
        }
        lines.addLast(line.length() > MAX_LINE_CHARS ? line.substring(0, MAX_LINE_CHARS) + "…" : line);
    }

    public synchronized List<String> lines() {
        return List.copyOf(lines);
    }

    /** The tail as one text, for error messages; "(no output)" when empty. */
    public String text() {
        List<String> snapshot = lines();
        return snapshot.isEmpty() ? "(no output)" : String.join("\n", snapshot);
    }
}
