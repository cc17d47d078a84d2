package dev.procpool.core.internal.store;

import dev.procpool.FailureReason;
import dev.procpool.TaskState;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static dev.procpool.core.internal.store.Tasks.task;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * Faults of a PostgreSQL store, for real: host processes killed or stopped holding leases, the server stopped and
 * started under the store, a connection killed in the middle of a transaction; and the notifications that wake
 * other hosts.
 */
class PostgresStoreFaultsIT extends StoreTestBase implements HostProcessContract {
    @RegisterExtension
    static final EmbeddedPg pg = EmbeddedPg.perTestClass();

    @Override
    TaskStores.Builder builder(StoreSettings settings) {
        return TaskStores.postgres(pg.dataSource()).settings(settings);
    }

    @Override
    public Connection raw() throws SQLException {
        return pg.dataSource().getConnection();
    }

    @Override
    public List<String> childStore() {
        try (Connection c = raw()) {
            return List.of("postgres", c.getMetaData().getURL() + "?user=postgres");
        } catch (SQLException e) {
            throw new IllegalStateException(e);
        }
    }

    @Test
    void theDatabaseRestartingFailsCallsAsUnavailableAndTheSameStoreRecoversWithNothingLost() throws Exception {
        JdbcTaskStore store = open("a");
        JdbcTaskStore other = open("b");
        store.insert(List.of(task("t1"), task("t2")));
        ClaimedTask claimed = store.claim(1, ServedWork.anything(), at(1)).tasks().get(0);
        await().atMost(Duration.ofSeconds(10)).until(() -> store.isListening() && other.isListening());

        List<ProcessTrees.Proc> server = pg.processes();
        pg.stop();
        ProcessTrees.assertAllGone(server);
        assertInstanceOf(StoreUnavailableException.class, assertThrows(RuntimeException.class,
                () -> store.insert(List.of(task("t3")))));
        assertThrows(StoreUnavailableException.class, () -> store.claim(1, ServedWork.anything(), at(2)));
        assertThrows(StoreUnavailableException.class, () -> store.record(List.of(Tasks.success(claimed, at(2)))));
        assertThrows(StoreUnavailableException.class, () -> store.renew(at(2), List.of(claimed.lease())));
        assertThrows(StoreUnavailableException.class, () -> store.find("t1"));
        await().atMost(Duration.ofSeconds(10)).until(() -> !store.isListening());

        pg.restart();
        await().atMost(Duration.ofSeconds(30)).ignoreExceptionsInstanceOf(StoreUnavailableException.class)
                .until(() -> store.insert(List.of(task("t3"))).get(0).created());
        assertEquals(List.of(RecordOutcome.APPLIED), store.record(List.of(Tasks.success(claimed, at(3)))),
                "the lease taken before the restart still holds");
        assertEquals(TaskState.QUEUED, store.find("t2").orElseThrow().state());
        await().atMost(Duration.ofSeconds(30)).until(() -> store.isListening() && other.isListening());
        CompletableFuture<StoredTask> end = other.awaitEnd("t3");
        ClaimedTask t3 = store.claim(5, ServedWork.anything(), at(4)).tasks().stream()
                .filter(c -> c.id().equals("t3")).findFirst().orElseThrow();
        store.record(List.of(Tasks.success(t3, at(5))));
        assertEquals(TaskState.SUCCEEDED, end.get(10, TimeUnit.SECONDS).state());
        assertEquals(3, number("SELECT COUNT(*) FROM " + table("task")) + number("SELECT COUNT(*) FROM "
                + table("ended")));
    }

    @Test
    void aConnectionKilledInTheMiddleOfABatchLeavesNothingOfItAndARetryWritesItAll() throws Exception {
        JdbcTaskStore store = open("a");
        List<NewTask> batch = new ArrayList<>();
        for (int i = 0; i < 60_000; i++) {
            batch.add(task("big-" + i));
        }
        CompletableFuture<List<InsertResult>> insert = CompletableFuture.supplyAsync(() -> store.insert(batch));
        int killed = 0;
        try (Connection c = raw(); Statement s = c.createStatement()) {
            while (killed == 0 && !insert.isDone()) {
                try (ResultSet rows = s.executeQuery("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        + "WHERE pid <> pg_backend_pid() AND state = 'active' AND query LIKE '%unnest%'")) {
                    while (rows.next()) {
                        killed++;
                    }
                }
            }
        }
        assertEquals(1, killed, "the insert was still running: the test needs a bigger batch on this machine");
        ExecutionException failed = assertThrows(ExecutionException.class, () -> insert.get(60, TimeUnit.SECONDS));
        assertInstanceOf(StoreUnavailableException.class, failed.getCause());
        assertEquals(0, number("SELECT COUNT(*) FROM " + table("task")));

        await().atMost(Duration.ofSeconds(30)).ignoreExceptionsInstanceOf(StoreUnavailableException.class)
                .until(() -> store.insert(batch).stream().allMatch(InsertResult::created));
        assertEquals(batch.size(), number("SELECT COUNT(*) FROM " + table("task")));
    }

    @Test
    void notificationsWakeIdleHostsReachTheHostRunningACancelledTaskAndWakeWaitersElsewhere() throws Exception {
        AtomicInteger available = new AtomicInteger();
        List<String> cancels = new CopyOnWriteArrayList<>();
        StoreSettings.Builder slowPolls = settings().pollInterval(Duration.ofMinutes(1));
        JdbcTaskStore runner = open("runner", slowPolls, new StoreEvents() {
            @Override
            public void tasksAvailable() {
                available.incrementAndGet();
            }

            @Override
            public void cancelRequested(String taskId) {
                cancels.add(taskId);
            }
        });
        JdbcTaskStore submitter = open("submitter", slowPolls, StoreEvents.NONE);
        await().atMost(Duration.ofSeconds(10)).until(() -> runner.isListening() && submitter.isListening());
        available.set(0);

        submitter.insert(List.of(task("n1")));
        await().atMost(Duration.ofSeconds(3)).until(() -> available.get() > 0);
        ClaimedTask claimed = runner.claim(1, ServedWork.anything(), at(1)).tasks().get(0);
        CompletableFuture<StoredTask> end = submitter.awaitEnd("n1");

        CancelResult cancel = submitter.cancel("n1", at(2));
        assertEquals(new CancelResult(CancelResult.Outcome.REQUESTED, TaskState.RUNNING, "runner"), cancel);
        await().atMost(Duration.ofSeconds(3)).until(() -> cancels.contains("n1"));
        runner.record(List.of(AttemptEnd.ended(claimed.lease(), TaskState.CANCELLED,
                Tasks.failure(1, FailureReason.CANCELLED), "cancelled by its submitter", at(3))));
        assertEquals(TaskState.CANCELLED, end.get(3, TimeUnit.SECONDS).state());
    }
}
