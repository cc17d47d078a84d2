package dev.procpool.examples.bench;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The sketch baseline under a real SIGKILL: the W5 figures of the sketch rely on it replacing a dead worker and
 * re-sending what that worker had. Ends by checking, by pid and start time, that none of its processes is left.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class SketchPoolIT {
    private static final List<String> WORKER = List.of(
            Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-XX:+UseSerialGC",
            "-cp", System.getProperty("java.class.path"), SketchWorker.class.getName());

    @Test
    void aKilledWorkersTasksAreAnsweredByItsSuccessorAndNoProcessIsLeft() throws Exception {
        List<long[]> processes;
        try (SketchPool pool = new SketchPool(WORKER, 1, 0)) {
            long victim = pool.submit(SketchWorker.PID, null).get(60, TimeUnit.SECONDS).asLong();
            assertEquals(List.of(victim), pool.workerPids());
            // tasks in flight on the victim when it dies: 2,000 of about 1 ms each keep it busy well past the kill
            List<CompletableFuture<JsonNode>> inFlight = new ArrayList<>();
            for (int i = 0; i < 2_000; i++) {
                inFlight.add(pool.submit(BenchHandler.SHA_64K, 22));
            }
            inFlight.get(0).get(60, TimeUnit.SECONDS);
            assertTrue(!inFlight.get(inFlight.size() - 1).isDone(), "the victim had tasks left when it was killed");
            long victimStart = Procs.startTicks(victim);
            ProcessHandle.of(victim).orElseThrow().destroyForcibly();
            BenchContext.awaitDead(victim, victimStart);

            String expected = BenchHandler.sha64k(22);
            for (CompletableFuture<JsonNode> task : inFlight) {
                assertEquals(expected, task.get(60, TimeUnit.SECONDS).asText());
            }
            long successor = pool.submit(SketchWorker.PID, null).get(60, TimeUnit.SECONDS).asLong();
            assertNotEquals(victim, successor);
            assertEquals(List.of(successor), pool.workerPids());
            processes = pool.processes();
        }
        assertEquals(2, processes.size(), "the victim and its successor");
        await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
            for (long[] p : processes) {
                assertTrue(!Procs.alive(p[0], p[1]), "process " + p[0] + " is still running");
            }
        });
    }

    @Test
    void aHotSpareTakesOverAndIsReplaced() throws Exception {
        List<long[]> processes;
        try (SketchPool pool = new SketchPool(WORKER, 1, 1)) {
            long victim = pool.submit(SketchWorker.PID, null).get(60, TimeUnit.SECONDS).asLong();
            long victimStart = Procs.startTicks(victim);
            ProcessHandle.of(victim).orElseThrow().destroyForcibly();
            BenchContext.awaitDead(victim, victimStart);
            long spare = pool.submit(SketchWorker.PID, null).get(60, TimeUnit.SECONDS).asLong();
            assertNotEquals(victim, spare);
            // the spare took the slot; a new spare was started in its place
            await().atMost(Duration.ofSeconds(30)).until(() -> pool.processes().size() == 3);
            processes = pool.processes();
        }
        await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
            for (long[] p : processes) {
                assertTrue(!Procs.alive(p[0], p[1]), "process " + p[0] + " is still running");
            }
        });
    }
}
