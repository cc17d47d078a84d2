package dev.procpool.core.it;

import dev.procpool.BatchResult;
import dev.procpool.DeadLetter;
import dev.procpool.FailureReason;
import dev.procpool.PoolConfig;
import dev.procpool.PoolEvent;
import dev.procpool.PoolSnapshot;
import dev.procpool.RetryPolicy;
import dev.procpool.TaskFailedException;
import dev.procpool.TaskHandle;
import dev.procpool.TaskInfo;
import dev.procpool.TaskRequest;
import dev.procpool.TaskState;
import dev.procpool.TaskStore;
import dev.procpool.WorkerPool;
import dev.procpool.core.metrics.PoolMetrics;
import dev.procpool.core.testing.EventLog;
import dev.procpool.core.testing.ProcessLeakCheck;
import dev.procpool.core.testing.TestHandler;
import dev.procpool.core.testing.TestPools;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A pool on a durable task store, end to end with real workers: what the README's durability contract says, on
 * each store ({@link DurableSqlitePoolIT}, {@link DurablePostgresPoolIT}). Every test ends with no process left.
 */
abstract class DurablePoolContract {
    private static final AtomicInteger POOLS = new AtomicInteger();
    private final ProcessLeakCheck leaks = ProcessLeakCheck.start();
    @TempDir
    Path dir;

    /** A fresh store for one test: its own tables (or file). */
    abstract TaskStore.Durable store(String prefix);

    /** What {@code PoolSnapshot.Store.kind()} says. */
    abstract String kind();

    @AfterEach
    void nothingLeftBehind() {
        leaks.assertNoneLeft(Duration.ofSeconds(15));
    }

    private TaskStore.Durable freshStore() {
        return store("t" + POOLS.incrementAndGet() + "_" + Long.toString(System.nanoTime() % 100_000, 36));
    }

    private PoolConfig.Builder pool(String name, TaskStore.Durable store, int workers) {
        return WorkerPool.builder().name(name).workers(workers).taskStore(store)
                .worker(TestPools.javaWorker(TestHandler.class));
    }

    @Test
    void tasksRunAndTheStoreKeepsTheirOutcomes() throws Exception {
        TaskStore.Durable store = freshStore();
        try (WorkerPool pool = pool("outcomes", store, 2).start()) {
            List<TaskRequest> squares = new ArrayList<>();
            for (int i = 0; i < 300; i++) {
                squares.add(TaskRequest.of("square", Map.of("n", i)).withId("sq-" + i));
            }
            BatchResult batch = pool.submitAll(squares, null); // one insert for the whole batch
            assertEquals(300, batch.succeeded(), () -> batch.outcomes().toString());
            assertEquals(36L, ((Number) batch.outcomes().get(6).result().as(Map.class).get("square")).longValue());

            TaskInfo info = pool.task("sq-7").orElseThrow();
            assertEquals(TaskState.SUCCEEDED, info.state());
            assertEquals(1, info.attempts());
            assertTrue(info.result().orElseThrow().contains("\"square\":49"), info.toString());
            assertTrue(info.endedAt() != null && info.workerId() != null, info.toString());
            TaskHandle late = pool.handle("sq-8").orElseThrow();
            assertEquals(64L, ((Number) late.future().get().as(Map.class).get("square")).longValue());
            assertTrue(pool.task("no-such-task").isEmpty());
            assertTrue(pool.handle("no-such-task").isEmpty());

            PoolSnapshot snapshot = pool.snapshot();
            assertEquals(kind(), snapshot.store().kind());
            assertTrue(snapshot.store().available());
            assertEquals(300, snapshot.tasks().submitted());
            assertEquals(300, snapshot.tasks().completed());
        }
    }

    @Test
    void theStoreIsMeasured() throws Exception {
        TaskStore.Durable store = freshStore();
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        try (PoolMetrics metrics = new PoolMetrics(List.of(), Duration.ZERO)) {
            metrics.bindTo(registry);
            try (WorkerPool pool = pool("measured", store, 1).tracker(metrics).start()) {
                pool.submitTask("pid", Map.of()).await(Duration.ofSeconds(30));
                assertEquals(1.0, registry.get(PoolMetrics.Names.STORE_AVAILABLE).gauge().value());
                assertEquals(1.0, registry.get(PoolMetrics.Names.STORE_HOSTS).gauge().value());
                for (String operation : List.of("submit", "claim", "record")) {
                    await().atMost(Duration.ofSeconds(10)).until(() -> registry.get(PoolMetrics.Names.STORE_LATENCY)
                            .tags("operation", operation, "outcome", "ok").timer().count() > 0);
                }
                assertEquals(0.0, registry.get(PoolMetrics.Names.STORE_ERRORS).functionCounter().count());
                assertEquals(0.0, registry.get(PoolMetrics.Names.STORE_FENCED).functionCounter().count());
                assertEquals(0.0, registry.get(PoolMetrics.Names.STORE_RESCUED).functionCounter().count());
            }
        }
    }

    @Test
    void failuresAreRetriedThenDeadLetteredInTheStoreAndCanBeRedriven() throws Exception {
        TaskStore.Durable store = freshStore();
        try (WorkerPool pool = pool("letters", store, 1).start()) {
            TaskHandle failing = pool.submitTask(TaskRequest.of("fail", Map.of("message", "bad input"))
                    .withId("doomed").withRetryPolicy(RetryPolicy.builder().maxAttempts(2)
                            .initialDelay(Duration.ofMillis(10)).retryOn(java.util.Set.of(FailureReason.HANDLER_ERROR)).build()));
            TaskFailedException failure = assertThrows(TaskFailedException.class,
                    () -> failing.await(Duration.ofSeconds(30)));
            assertEquals(FailureReason.HANDLER_ERROR, failure.reason());
            assertEquals(2, failure.failedAttempts().size(), failure.failedAttempts().toString());
            assertEquals(TaskState.DEAD_LETTERED, failing.state());

            DeadLetter letter = pool.deadLetters().get("doomed").orElseThrow();
            assertEquals(2, letter.attempts().size());
            assertTrue(letter.attempts().get(1).remoteError().message().contains("bad input"), letter.toString());
            assertEquals(1, pool.deadLetters().size());
            assertEquals(List.of("doomed"), pool.deadLetters().list().stream().map(DeadLetter::taskId).toList());
            await().atMost(Duration.ofSeconds(10)).until(() -> pool.snapshot().deadLetters().size() == 1);

            TaskHandle again = pool.deadLetters().redrive("doomed");
            assertThrows(TaskFailedException.class, () -> again.await(Duration.ofSeconds(30)));
            assertEquals(TaskState.DEAD_LETTERED, pool.task("doomed").orElseThrow().state());
            assertTrue(pool.deadLetters().remove("doomed"));
            assertEquals(0, pool.deadLetters().size());
        }
    }

    @Test
    void theSameIdIsOneTaskRunOnce() throws Exception {
        TaskStore.Durable store = freshStore();
        EventLog events = new EventLog();
        try (WorkerPool pool = pool("idempotent", store, 2).listener(events).start()) {
            ExecutorService submitters = Executors.newFixedThreadPool(4);
            try {
                List<CompletableFuture<TaskHandle>> handles = new ArrayList<>();
                for (int i = 0; i < 8; i++) {
                    handles.add(CompletableFuture.supplyAsync(() -> pool.submitTask(
                            TaskRequest.of("pid", Map.of()).withId("only-once")), submitters));
                }
                for (CompletableFuture<TaskHandle> handle : handles) {
                    assertEquals("only-once", handle.get().id());
                    handle.get().await(Duration.ofSeconds(30));
                }
            } finally {
                submitters.shutdownNow();
            }
            TaskInfo info = pool.task("only-once").orElseThrow();
            assertEquals(1, info.attempts());
            // submitted again after it ended: still the same task, never a second run
            TaskHandle after = pool.submitTask(TaskRequest.of("pid", Map.of()).withId("only-once"));
            after.await(Duration.ofSeconds(10));
            assertEquals(1, pool.task("only-once").orElseThrow().attempts());
            await().atMost(Duration.ofSeconds(5)).until(() -> !events.all(PoolEvent.TaskCompleted.class).isEmpty());
            assertEquals(1, events.all(PoolEvent.TaskStarted.class).size());
            assertEquals(1, pool.snapshot().tasks().submitted());
        }
    }

    @Test
    void aDelayedTaskWaitsForItsTimeAndCanBeCancelledMeanwhile() throws Exception {
        TaskStore.Durable store = freshStore();
        try (WorkerPool pool = pool("delayed", store, 1).start()) {
            Instant submitted = Instant.now();
            TaskHandle delayed = pool.submitTask(TaskRequest.of("pid", Map.of()).withId("later")
                    .withDelay(Duration.ofMillis(1500)));
            TaskHandle cancelled = pool.submitTask(TaskRequest.of("pid", Map.of()).withId("never")
                    .withDelay(Duration.ofHours(1)));
            assertEquals(TaskState.SCHEDULED, pool.task("later").orElseThrow().state());
            pool.submitTask("pid", Map.of()).await(Duration.ofSeconds(10)); // others run meanwhile
            assertFalse(delayed.future().isDone());
            delayed.await(Duration.ofSeconds(30));
            assertTrue(Duration.between(submitted, Instant.now()).compareTo(Duration.ofMillis(1500)) >= 0);

            assertTrue(cancelled.cancel());
            assertThrows(TaskFailedException.class, () -> cancelled.await(Duration.ofSeconds(10)));
            assertEquals(TaskState.CANCELLED, pool.task("never").orElseThrow().state());
        }
    }

    @Test
    void queuedTasksAndACutAttemptRunOnTheNextStartOfThePool() throws Exception {
        TaskStore.Durable store = freshStore();
        Path gate = dir.resolve("gate");
        List<String> ids = new ArrayList<>();
        try (WorkerPool first = pool("restart", store, 1).start()) {
            TaskHandle blocking = first.submitTask(TaskRequest.of("await-file", Map.of("path", gate.toString()))
                    .withId("cut"));
            await().atMost(Duration.ofSeconds(30)).until(() -> blocking.state() == TaskState.RUNNING);
            for (int i = 0; i < 20; i++) {
                int priority = i % 2 == 0 ? 3 : 7;
                ids.add("q-" + i);
                first.submitTask(TaskRequest.of("pid", Map.of()).withId("q-" + i).withPriority(priority));
            }
            first.shutdownNow(); // the host goes away: its tasks stay in the store
            assertThrows(Exception.class, () -> blocking.await(Duration.ofSeconds(10)));
        }
        Files.writeString(gate, "open");
        try (WorkerPool second = pool("restart", store, 1).start()) {
            TaskHandle cut = second.handle("cut").orElseThrow();
            cut.await(Duration.ofSeconds(60));
            TaskInfo info = second.task("cut").orElseThrow();
            assertEquals(2, info.attempts(), info.toString());
            assertEquals(FailureReason.HOST_LOST, info.failedAttempts().get(0).reason(), info.toString());
            List<Long> orders = new ArrayList<>();
            for (String id : ids) {
                TaskHandle handle = second.handle(id).orElseThrow();
                Map<?, ?> result = handle.await(Duration.ofSeconds(60)).as(Map.class);
                orders.add(((Number) result.get("order")).longValue());
            }
            // the high-priority half (even ids, priority 3) ran before the low half, each half in FIFO order
            List<Long> high = new ArrayList<>();
            List<Long> low = new ArrayList<>();
            for (int i = 0; i < ids.size(); i++) {
                (i % 2 == 0 ? high : low).add(orders.get(i));
            }
            assertTrue(high.stream().mapToLong(Long::longValue).max().orElseThrow()
                    < low.stream().mapToLong(Long::longValue).min().orElseThrow(), "orders " + orders);
            assertEquals(high.stream().sorted().toList(), high, "FIFO within a priority: " + orders);
        }
    }

    /**
     * A host that runs a task it claimed (the attempt of a lost host, rescued) while its caller submits the same id
     * again: that handle is another record of the task, and completes with the outcome this host records.
     */
    @Test
    void aTaskSubmittedAgainWhileThisHostRunsItFromAClaimCompletesThatHandle() throws Exception {
        TaskStore.Durable store = freshStore().withLeaseTimeout(Duration.ofSeconds(2));
        Path firstGate = dir.resolve("never");
        Path gate = dir.resolve("rescued-gate");
        try (WorkerPool first = pool("claimed", store, 1).heartbeatInterval(Duration.ofMillis(500)).start()) {
            TaskHandle blocking = first.submitTask(TaskRequest.of("await-file", Map.of("path", firstGate.toString()))
                    .withId("rescued"));
            await().atMost(Duration.ofSeconds(30)).until(() -> blocking.state() == TaskState.RUNNING);
            first.shutdownNow(); // the attempt is cut; the lease runs out in the store
        }
        try (WorkerPool second = pool("claimed", store, 1).heartbeatInterval(Duration.ofMillis(500)).start()) {
            await().atMost(Duration.ofSeconds(60)).until(() -> second.task("rescued").orElseThrow().attempts() == 2
                    && second.task("rescued").orElseThrow().state() == TaskState.RUNNING);
            // the claim runs attempt 2 (it still waits for a gate file: the payload is the first submit's)
            TaskHandle again = second.submitTask(TaskRequest.of("await-file", Map.of("path", gate.toString()))
                    .withId("rescued"));
            Files.writeString(firstGate, "open");
            assertEquals("rescued", again.await(Duration.ofSeconds(30)).taskId());
            assertEquals(TaskState.SUCCEEDED, second.task("rescued").orElseThrow().state());
        }
    }

    @Test
    void aStoreThatCannotBeOpenedFailsTheStartAndSaysWhy() {
        Exception error = assertThrows(Exception.class, () -> pool("unopenable", unreachable(), 1).start());
        assertTrue(error.getMessage().contains("unopenable") && error.getMessage().contains("task store"),
                error.getMessage());
    }

    /** A store of this kind that cannot be reached. */
    abstract TaskStore.Durable unreachable();

    /** The same instance for a task submitted twice: the handle follows one task. */
    @Test
    void aHandleOfARunningTaskIsTheSubmittersOwn() throws Exception {
        TaskStore.Durable store = freshStore();
        try (WorkerPool pool = pool("handles", store, 1).start()) {
            Path gate = dir.resolve("handles-gate");
            TaskHandle submitted = pool.submitTask(TaskRequest.of("await-file", Map.of("path", gate.toString()))
                    .withId("h1"));
            TaskHandle found = pool.handle("h1").orElseThrow();
            Files.writeString(gate, "open");
            assertSame(submitted.await(Duration.ofSeconds(30)).taskId(), found.await(Duration.ofSeconds(30))
                    .taskId());
        }
    }
}
