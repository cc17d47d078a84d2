package dev.procpool.core.it.durable;

import dev.procpool.FailureReason;
import dev.procpool.RetryPolicy;
import dev.procpool.TaskFailedException;
import dev.procpool.TaskHandle;
import dev.procpool.TaskInfo;
import dev.procpool.TaskRequest;
import dev.procpool.TaskState;
import dev.procpool.TaskStore;
import dev.procpool.WorkerPool;
import dev.procpool.core.testing.ProcessLeakCheck;
import dev.procpool.core.testing.TestHandler;
import dev.procpool.core.testing.TestPools;
import dev.procpool.core.testing.WorkHandler;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Retention: ended tasks (results, failures, their attempts) are gone from {@code pool.task(id)} and from the store
 * once their retention passed and housekeeping ran, dead letters stay for their own retention, and an id whose task
 * was purged is a new task. Housekeeping runs when a host starts and then hourly, so the test starts a second host
 * to run it. On each store ({@link RetentionSqliteIT}, {@link RetentionPostgresIT}).
 */
abstract class RetentionContract {
    private final ProcessLeakCheck leaks = ProcessLeakCheck.start();
    @TempDir
    Path dir;

    /** A fresh store for one test. */
    abstract StoreSite site();

    @AfterEach
    void nothingLeftBehind() {
        leaks.assertNoneLeft(Duration.ofSeconds(30));
    }

    private static WorkerPool pool(TaskStore.Durable store) {
        return WorkerPool.builder().name("retained").workers(1).taskStore(store)
                .worker(TestPools.javaWorker(WorkHandler.class, TestHandler.class)).start();
    }

    @Test
    void endedTasksAreGoneOnceTheirRetentionPassedAndHousekeepingRanWhileDeadLettersStay() throws Exception {
        StoreSite site = site();
        StoreTables tables = site.tables("retained");
        // the shortest retention the builder allows; dead letters keep theirs
        TaskStore.Durable store = site.durable().withRetention(Duration.ofSeconds(1))
                .withDeadLetterRetention(Duration.ofHours(1));
        try (WorkerPool first = pool(store)) {
            List<TaskHandle> handles = new ArrayList<>();
            for (int i = 0; i < 5; i++) {
                handles.add(first.submitTask(TaskRequest.of("work", Map.of("n", i)).withId("r-" + i)));
            }
            TaskHandle failing = first.submitTask(TaskRequest.of("fail", Map.of("message", "bad input"))
                    .withId("failed").withRetryPolicy(RetryPolicy.builder().maxAttempts(1).build()));
            TaskHandle doomed = first.submitTask(TaskRequest.of("fail", Map.of("message", "poison")).withId("doomed")
                    .withRetryPolicy(RetryPolicy.builder().maxAttempts(1).retryOn(Set.of(FailureReason.HANDLER_ERROR))
                            .build()));
            for (TaskHandle handle : handles) {
                handle.await(Duration.ofSeconds(60));
            }
            assertThrows(TaskFailedException.class, () -> failing.await(Duration.ofSeconds(60)));
            assertThrows(TaskFailedException.class, () -> doomed.await(Duration.ofSeconds(60)));
            assertEquals(TaskState.FAILED, first.task("failed").orElseThrow().state());
            assertEquals(TaskState.DEAD_LETTERED, first.task("doomed").orElseThrow().state());
            TaskInfo r0 = first.task("r-0").orElseThrow();
            assertTrue(r0.result().isPresent(), r0::toString);
        }
        Instant closed = Instant.now(); // after every end, and after the first host stopped
        assertEquals(7, tables.ended());
        assertEquals(2, tables.number("COUNT(*)", "attempt", ""), "the failed attempts' forensics");
        await().atMost(Duration.ofSeconds(10)).until(() -> Instant.now().isAfter(closed.plusMillis(1_100)));

        try (WorkerPool second = pool(store)) { // a host starting runs housekeeping at once
            await().atMost(Duration.ofSeconds(30)).until(() -> second.task("r-0").isEmpty());
            for (String id : List.of("r-0", "r-1", "r-2", "r-3", "r-4", "failed")) {
                assertTrue(second.task(id).isEmpty(), id + " outlived its retention");
                assertTrue(second.handle(id).isEmpty(), id + " outlived its retention");
            }
            assertEquals(1, tables.ended(), "only the dead letter is left");
            assertEquals(1, tables.number("COUNT(*)", "attempt", "AND task_id = 'doomed'"));
            assertEquals(1, tables.number("COUNT(*)", "attempt", ""), "the purged tasks' attempts went with them");
            assertEquals(TaskState.DEAD_LETTERED, second.task("doomed").orElseThrow().state());
            assertTrue(second.deadLetters().get("doomed").isPresent());
            assertEquals(1, tables.number("COUNT(*)", "host", ""), "the first host, stopped, is forgotten too");

            // past its retention an id is free again: the same id is a new task, run once more
            Map<?, ?> again = second.submitTask(TaskRequest.of("work", Map.of("n", 0)).withId("r-0"))
                    .await(Duration.ofSeconds(60)).as(Map.class);
            assertEquals(1L, ((Number) again.get("attempt")).longValue());
            assertEquals(TaskState.SUCCEEDED, second.task("r-0").orElseThrow().state());
        }
    }
}
