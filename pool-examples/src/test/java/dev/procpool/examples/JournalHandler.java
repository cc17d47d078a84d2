package dev.procpool.examples;

import com.fasterxml.jackson.databind.JsonNode;
import dev.procpool.TaskContext;
import dev.procpool.TaskHandler;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Map;
import java.util.Set;

/**
 * A test handler that leaves a trace of every execution, so that a test sees how often each task really ran:
 * task type {@value #TYPE}, payload {@code {"journal": PATH, "ms": N}}. It appends {@code start ID ATTEMPT PID} to
 * the journal, sleeps N ms (stopping early when cancelled), appends {@code end ID ATTEMPT PID}, and returns
 * {@code {"id", "pid"}}. Lines are appended with O_APPEND in one write each, so workers of several hosts may share
 * one journal.
 */
public final class JournalHandler implements TaskHandler {
    public static final String TYPE = "journal";

    @Override
    public Set<String> taskTypes() {
        return Set.of(TYPE);
    }

    @Override
    public Object handle(TaskContext context) throws Exception {
        JsonNode payload = context.payload(JsonNode.class);
        Path journal = Path.of(payload.get("journal").textValue());
        long pid = ProcessHandle.current().pid();
        String run = context.taskId() + " " + context.attempt() + " " + pid + "\n";
        append(journal, "start " + run);
        long end = System.nanoTime() + payload.get("ms").asLong() * 1_000_000L;
        while (System.nanoTime() < end && !context.isCancelled()) {
            Thread.sleep(5);
        }
        append(journal, "end " + run);
        return Map.of("id", context.taskId(), "pid", pid);
    }

    private static void append(Path journal, String line) throws IOException {
        Files.write(journal, line.getBytes(StandardCharsets.UTF_8), StandardOpenOption.CREATE,
                StandardOpenOption.WRITE, StandardOpenOption.APPEND);
    }
}
