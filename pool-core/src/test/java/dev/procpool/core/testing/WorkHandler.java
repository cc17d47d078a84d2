package dev.procpool.core.testing;

import dev.procpool.TaskContext;
import dev.procpool.TaskHandler;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Set;

/**
 * The task of the durable-store fault tests: {@code work} takes {@code {"n": n, "ms": ms, "gate": path?,
 * "firstAttemptGate": path?, "laterAttemptsGate": path?, "ignoreCancel": bool?, "doneDir": path?}}, waits until its
 * gate file exists (if one is named: {@code gate} holds every attempt, the others attempt 1 or the later ones; at most
 * a minute, or until cancelled unless it ignores cancels), works for {@code ms} milliseconds, writes {@code <doneDir>/<task id>-<attempt>} (so a test sees that a
 * worker answered even when its host cannot), and answers
 * {@code {"n", "square", "pid", "attempt"}}, so that a result proves which task it belongs to, and where and in which
 * attempt it ran.
 */
public final class WorkHandler implements TaskHandler {
    @Override
    public Set<String> taskTypes() {
        return Set.of("work");
    }

    @Override
    public Object handle(TaskContext context) throws Exception {
        Map<?, ?> payload = context.payload(Map.class);
        long n = ((Number) payload.get("n")).longValue();
        Object gate = payload.get("gate");
        if (gate == null) {
            gate = payload.get(context.attempt() == 1 ? "firstAttemptGate" : "laterAttemptsGate");
        }
        long giveUp = System.nanoTime() + 60_000_000_000L;
        boolean hearsCancel = !"true".equals(String.valueOf(payload.get("ignoreCancel")));
        while (gate != null && !Files.exists(Path.of(gate.toString())) && System.nanoTime() < giveUp
                && !(hearsCancel && context.isCancelled())) {
            Thread.sleep(5); // the task's behaviour: it holds its worker until the test opens the gate
        }
        Object ms = payload.get("ms");
        if (ms != null) {
            Thread.sleep(((Number) ms).longValue());
        }
        Object done = payload.get("doneDir");
        if (done != null) {
            Files.writeString(Path.of(done.toString(), context.taskId() + "-" + context.attempt()), "answered");
        }
        return Map.of("n", n, "square", n * n, "pid", ProcessHandle.current().pid(), "attempt", context.attempt());
    }
}
