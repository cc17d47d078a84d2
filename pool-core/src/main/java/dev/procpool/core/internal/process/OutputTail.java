package dev.procpool.core.internal.process;

import java.util.ArrayDeque;
import java.util.List;

/**
 * The last lines a worker wrote to stderr, bounded in lines and in characters per line, with control characters
 * escaped ({@link SafeText}): the tail goes into log lines and failure messages. Thread-safe.
 */
public final class OutputTail {
    public static final int MAX_LINE_CHARS = 1000;

    private final int maxLines;
    private final ArrayDeque<String> lines;

    public OutputTail(int maxLines) {
        this.maxLines = maxLines;
        this.lines = new ArrayDeque<>(maxLines);
    }

    public void add(String line) {
        String safe = SafeText.escape(line);
        addEscaped(safe.length() > MAX_LINE_CHARS ? safe.substring(0, MAX_LINE_CHARS) + "…" : safe);
    }

    private synchronized void addEscaped(String line) {
        if (lines.size() == maxLines) {
            lines.removeFirst();
        }
        lines.addLast(line);
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
