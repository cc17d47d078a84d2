package dev.procpool.examples.boot;

import dev.procpool.TaskContext;
import dev.procpool.TaskHandler;

import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * Runs in the worker processes, not in the application: {@code upper} upper-cases {@code text}, {@code slow-upper}
 * does so after {@code ms} milliseconds (stopping early if the task is cancelled), standing in for real work.
 */
public final class TextHandler implements TaskHandler {
    /** A task's payload. */
    public record Text(String text, long ms) {
    }

    @Override
    public Set<String> taskTypes() {
        return Set.of("upper", "slow-upper");
    }

    @Override
    public Object handle(TaskContext context) throws InterruptedException {
        Text job = context.payload(Text.class);
        if (context.taskType().equals("slow-upper")) {
            long until = System.nanoTime() + job.ms() * 1_000_000L;
            while (System.nanoTime() < until && !context.isCancelled()) {
                Thread.sleep(10); // the work: a long task that notices cancellation
            }
        }
        return Map.of("text", job.text().toUpperCase(Locale.ROOT), "workerPid", ProcessHandle.current().pid());
    }
}
