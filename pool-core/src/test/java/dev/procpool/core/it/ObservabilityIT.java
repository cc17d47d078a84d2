package dev.procpool.core.it;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.procpool.BatchResult;
import dev.procpool.FailureReason;
import dev.procpool.ItemBatch;
import dev.procpool.PoolEvent;
import dev.procpool.PoolSnapshot;
import dev.procpool.TaskFailedException;
import dev.procpool.TaskHandle;
import dev.procpool.TaskProgress;
import dev.procpool.TaskRequest;
import dev.procpool.TaskResult;
import dev.procpool.WorkerPool;
import dev.procpool.WorkerSnapshot;
import dev.procpool.core.testing.EventLog;
import dev.procpool.core.testing.ProcessLeakCheck;
import dev.procpool.core.testing.TestHandler;
import dev.procpool.core.testing.TestPools;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Snapshots, events, task output, progress and batches with real worker processes. */
class ObservabilityIT {
    private static final EventLog EVENTS = new EventLog();
    private static Path logDir;
    private static WorkerPool pool;
    private static ProcessLeakCheck leaks;

    @BeforeAll
    static void start(@TempDir Path dir) {
        leaks = ProcessLeakCheck.start();
        logDir = dir.resolve("task-logs");
        pool = WorkerPool.builder().name("observed").workers(2).worker(TestPools.javaWorker(TestHandler.class))
                .taskLogDirectory(logDir).listener(EVENTS).start();
    }

    @AfterAll
    static void stop() {
        pool.close();
        leaks.assertNoneLeft(Duration.ofSeconds(10));
    }

    @Test
    void whatATaskPrintsComesBackWithItsResultAndLaterByItsId(@TempDir Path dir) throws Exception {
        List<TaskProgress> progress = new CopyOnWriteArrayList<>();
        Path gate = dir.resolve("listening");
        TaskHandle handle = pool.submitTask(TaskRequest.of("progress", Map.of("gate", gate.toString()))
                .withId("noisy-1")).onProgress(progress::add);
        Files.createFile(gate); // a listener misses the reports made before it was added
        TaskResult result = handle.await(Duration.ofSeconds(10));

        assertTrue(result.output().containsAll(List.of("step 1 of 4", "warning at step 4")), result.output().toString());
        assertEquals(8, result.output().size(), "exactly this task's lines: " + result.output());
        assertEquals(result.output(), pool.taskOutput("noisy-1", 100).orElseThrow());
        assertEquals(List.of("warning at step 4"), pool.taskOutput("noisy-1", 1).orElseThrow());
        assertEquals(4, progress.size());
        assertEquals(1.0, progress.get(3).fraction());
        assertEquals("step 4", progress.get(3).message());

        // One log file per task, named with the task id and the worker pid, in a private folder.
        Path file = logDir.resolve("noisy-1-" + result.workerPid() + ".log");
        await().atMost(Duration.ofSeconds(5)).until(() -> Files.exists(file));
        assertEquals(result.output(), Files.readAllLines(file));
        assertEquals("rwx------", java.nio.file.attribute.PosixFilePermissions.toString(
                Files.getPosixFilePermissions(logDir)));
    }

    @Test
    void aFailureCarriesWhatTheTaskPrinted() {
        TaskFailedException failure = assertThrows(TaskFailedException.class,
                () -> pool.submitTask("fail", Map.of("message", "bad")).await(Duration.ofSeconds(10)));
        assertEquals(FailureReason.HANDLER_ERROR, failure.reason());
        assertTrue(failure.output().isEmpty(), "this task printed nothing: " + failure.output());
        TaskFailedException printed = assertThrows(TaskFailedException.class,
                () -> pool.submitTask("fail", Map.of("message", "x", "stdout", "reading input.csv",
                        "stderr", "row 17 is malformed")).await(Duration.ofSeconds(10)));
        assertEquals(List.of("reading input.csv", "row 17 is malformed"), printed.output(),
                "what the task printed, on stdout and stderr, in order");
        assertTrue(printed.getMessage().contains("x"), printed.getMessage());
    }

    @Test
    void snapshotsAreConsistentAndSerializeWithJackson() throws Exception {
        for (int i = 0; i < 20; i++) {
            pool.submitTask("pid", Map.of()).await(Duration.ofSeconds(10));
        }
        PoolSnapshot snapshot = pool.snapshot();
        assertEquals("observed", snapshot.pool().name());
        assertEquals(2, snapshot.pool().size());
        assertEquals(2, snapshot.workers().total());
        assertTrue(snapshot.tasks().completed() >= 20);
        assertTrue(snapshot.performance().workerReuseRate() > 1, snapshot.toString());
        assertEquals(dev.procpool.HealthStatus.HEALTHY, snapshot.health().status());
        String json = new ObjectMapper().writeValueAsString(snapshot);
        assertTrue(json.contains("\"workerReuseRate\""), json);

        WorkerSnapshot worker = pool.workers().get(0);
        assertEquals(worker.pid(), pool.worker(worker.id()).orElseThrow().pid());
        assertFalse(pool.worker("w-999").isPresent());
        String workerJson = new ObjectMapper().writeValueAsString(pool.workers());
        assertTrue(workerJson.contains("\"tasksServed\""), workerJson);
        await().atMost(Duration.ofSeconds(5)).until(() -> pool.workers().stream().allMatch(w -> w.rssBytes() > 0));
    }

    @Test
    void eventsArriveAndAFailingOrSlowListenerNeverStallsThePool() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        dev.procpool.PoolListener broken = event -> {
            throw new IllegalStateException("a broken listener");
        };
        pool.addListener(broken);
        dev.procpool.PoolListener slow = event -> {
            try {
                release.await(30, TimeUnit.SECONDS);
            } catch (InterruptedException ignored) {
                Thread.currentThread().interrupt();
            }
        };
        pool.addListener(slow);
        try {
            long start = System.nanoTime();
            for (int i = 0; i < 200; i++) {
                pool.submitTask("pid", Map.of()).await(Duration.ofSeconds(10));
            }
            assertTrue(System.nanoTime() - start < TimeUnit.SECONDS.toNanos(20), "dispatch went on");
        } finally {
            release.countDown();
            pool.removeListener(slow);
            pool.removeListener(broken);
        }
        await().atMost(Duration.ofSeconds(10)).until(() -> EVENTS.all(PoolEvent.TaskCompleted.class).size() >= 200);
        assertFalse(EVENTS.all(PoolEvent.WorkerStarted.class).isEmpty());
        assertFalse(EVENTS.all(PoolEvent.PoolStarted.class).isEmpty());
    }

    @Test
    void submitAllWaitsForEveryTaskAndReportsAggregateProgress() throws Exception {
        List<TaskRequest> requests = new ArrayList<>();
        for (int i = 0; i < 30; i++) {
            requests.add(TaskRequest.of("square", new TestHandler.Square(i)));
        }
        requests.add(TaskRequest.of("fail", Map.of("message", "one bad apple")));
        requests.add(TaskRequest.of("no-such-type", Map.of()));
        List<int[]> reports = new CopyOnWriteArrayList<>();

        BatchResult batch = pool.submitAll(requests, (done, failed, total) -> reports.add(new int[] {done, failed,
                total}));

        assertEquals(32, batch.outcomes().size());
        assertEquals(30, batch.succeeded());
        assertEquals(2, batch.failed());
        assertEquals(49L, batch.outcomes().get(7).result().as(TestHandler.Squared.class).square());
        assertTrue(batch.outcomes().get(31).failure() instanceof dev.procpool.TaskRejectedException);
        assertEquals(32, reports.size());
        assertTrue(reports.stream().anyMatch(r -> r[0] == 32 && r[1] == 2 && r[2] == 32), "a final 32/2/32 report");
    }

    @Test
    void aBatchWithOnePoisonItemSplitsUntilOnlyThatItemFails() throws Exception {
        List<String> items = new ArrayList<>();
        for (int i = 0; i < 40; i++) {
            items.add(i == 23 ? "poison" : "item-" + i);
        }
        List<int[]> reports = new CopyOnWriteArrayList<>();

        ItemBatch.Result result = ItemBatch.run(pool, "batch-upper", items, 10,
                (done, failed, total) -> reports.add(new int[] {done, failed, total}));

        assertEquals(39, result.succeeded());
        assertEquals(1, result.failed());
        ItemBatch.ItemOutcome poison = result.items().get(23);
        assertEquals("poison", poison.item());
        assertEquals(FailureReason.WORKER_CRASHED, poison.failure().reason());
        assertEquals("ITEM-24", result.items().get(24).result());
        assertEquals(1, pool.deadLetters().list().stream()
                .filter(d -> d.taskType().equals("batch-upper")).count(), "only the poison item is dead-lettered");
        assertTrue(pool.deadLetters().list().stream().anyMatch(d -> d.payloadJson().contains("\"poison\"")
                && d.payloadJson().equals("{\"items\":[\"poison\"]}")));
        assertEquals(40, reports.size());
        await().atMost(Duration.ofSeconds(10)).until(() -> pool.workers().size() == 2
                && pool.workers().stream().allMatch(WorkerSnapshot::healthy));
    }
}
