package dev.procpool.core.it.durable;

import dev.procpool.HealthStatus;
import dev.procpool.PoolEvent;
import dev.procpool.PoolHealth;
import dev.procpool.TaskHandle;
import dev.procpool.TaskRejectedException;
import dev.procpool.TaskRequest;
import dev.procpool.TaskState;
import dev.procpool.WorkerPool;
import dev.procpool.WorkerSnapshot;
import dev.procpool.core.internal.store.EmbeddedPg;
import dev.procpool.core.internal.store.ProcessTrees;
import dev.procpool.core.testing.EventLog;
import dev.procpool.core.testing.ProcessLeakCheck;
import dev.procpool.core.testing.TestPools;
import dev.procpool.core.testing.WorkHandler;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The PostgreSQL server stopped and started again under a running pool (its own server: the test stops it): while
 * it is down the pool is DEGRADED with an alert and an event, refuses new tasks with {@code STORE_UNAVAILABLE}, and
 * its running tasks go on; once the server is back the pool is HEALTHY again by itself, and every task ends exactly
 * once.
 */
class PostgresRestartIT {
    private final ProcessLeakCheck leaks = ProcessLeakCheck.start();
    @TempDir
    Path dir;

    @AfterEach
    void nothingLeftBehind() {
        leaks.assertNoneLeft(Duration.ofSeconds(30));
    }

    @Test
    void theDatabaseRestartingMidRunDegradesThePoolWhichRecoversByItselfAndEndsEveryTaskOnce() throws Exception {
        EventLog events = new EventLog();
        Path gate = dir.resolve("gate");
        try (EmbeddedPg pg = EmbeddedPg.start()) {
            StoreSite site = StoreSite.postgres(pg);
            StoreTables tables = site.tables("restart");
            List<TaskHandle> handles = new ArrayList<>();
            try (WorkerPool pool = WorkerPool.builder().name("restart").workers(2).listener(events)
                    .taskStore(site.durable().withLeaseTimeout(Duration.ofSeconds(10))
                            .withNetworkTimeout(Duration.ofSeconds(5)))
                    .heartbeatInterval(Duration.ofMillis(500))
                    .worker(TestPools.javaWorker(WorkHandler.class)).start()) {
                // two tasks hold both workers until the gate opens; 200 more wait in the store behind them
                for (int i = 0; i < 2; i++) {
                    handles.add(pool.submitTask(TaskRequest.of("work", Map.of("n", i, "gate", gate.toString()))
                            .withId("r-" + i)));
                }
                for (int i = 2; i < 202; i++) {
                    handles.add(pool.submitTask(TaskRequest.of("work", Map.of("n", i, "ms", 2)).withId("r-" + i)));
                }
                await().atMost(Duration.ofSeconds(30)).until(() -> handles.get(0).state() == TaskState.RUNNING
                        && handles.get(1).state() == TaskState.RUNNING);
                List<Long> workers = pool.workers().stream().map(WorkerSnapshot::pid).sorted().toList();
                long served = pool.workers().stream().mapToLong(WorkerSnapshot::tasksServed).sum();

                List<ProcessTrees.Proc> server = pg.processes();
                pg.stop();
                ProcessTrees.assertAllGone(server);

                // degraded, with an alert and an event
                await().atMost(Duration.ofSeconds(30)).until(() -> pool.health().status() == HealthStatus.DEGRADED);
                PoolHealth degraded = pool.health();
                assertTrue(degraded.alerts().stream().anyMatch(a -> a.contains("task store cannot be reached")),
                        degraded::toString);
                assertFalse(pool.snapshot().store().available());
                await().atMost(Duration.ofSeconds(10)).until(() -> events.all(PoolEvent.HealthChanged.class)
                        .stream().anyMatch(e -> e.to().status() == HealthStatus.DEGRADED));

                // new tasks are refused, saying why
                TaskRejectedException refused = assertThrows(TaskRejectedException.class, () -> pool.submitTask(
                        TaskRequest.of("work", Map.of("n", -1)).withId("during-outage")));
                assertEquals(TaskRejectedException.Kind.STORE_UNAVAILABLE, refused.kind());
                assertTrue(refused.getMessage().contains("during-outage")
                        && refused.getMessage().contains("cannot be reached")
                        && refused.getMessage().contains("try again"), refused.getMessage());

                // running tasks go on: the same workers finish them while the database is down
                Files.writeString(gate, "open");
                await().atMost(Duration.ofSeconds(30)).until(() -> pool.workers().stream()
                        .mapToLong(WorkerSnapshot::tasksServed).sum() >= served + 2);
                assertEquals(workers, pool.workers().stream().map(WorkerSnapshot::pid).sorted().toList());
                assertEquals(HealthStatus.DEGRADED, pool.health().status(), "still down");

                pg.restart();
                await().atMost(Duration.ofMinutes(1)).until(() -> pool.health().status() == HealthStatus.HEALTHY);
                assertTrue(pool.snapshot().store().available());
                await().atMost(Duration.ofSeconds(10)).until(() -> {
                    List<PoolEvent.HealthChanged> changes = events.all(PoolEvent.HealthChanged.class);
                    return !changes.isEmpty() && changes.get(changes.size() - 1).to().status() == HealthStatus.HEALTHY;
                });
                for (int i = 202; i < 252; i++) { // taken again without anyone's help
                    handles.add(pool.submitTask(TaskRequest.of("work", Map.of("n", i)).withId("r-" + i)));
                }
                for (int i = 0; i < handles.size(); i++) {
                    Map<?, ?> result = handles.get(i).await(Duration.ofMinutes(1)).as(Map.class);
                    assertEquals(List.of((long) i, (long) i * i, 1L), List.of(((Number) result.get("n")).longValue(),
                            ((Number) result.get("square")).longValue(),
                            ((Number) result.get("attempt")).longValue()), result::toString);
                }
                assertTrue(pool.task("during-outage").isEmpty(), "the refused task was not stored");
            }
            // every task ended exactly once, none lost, none run twice
            assertEquals(252, tables.number("COUNT(DISTINCT id)", "ended", "AND state = 'SUCCEEDED' AND attempt = 1"));
            assertEquals(252, tables.ended());
            assertEquals(0, tables.live());
            assertEquals(List.of(), tables.failedAttempts());
        }
    }
}
