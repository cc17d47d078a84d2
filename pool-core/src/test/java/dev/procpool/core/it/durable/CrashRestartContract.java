package dev.procpool.core.it.durable;

import dev.procpool.AttemptRecord;
import dev.procpool.FailureReason;
import dev.procpool.TaskInfo;
import dev.procpool.TaskState;
import dev.procpool.WorkerPool;
import dev.procpool.WorkerSpec;
import dev.procpool.core.testing.ProcessLeakCheck;
import dev.procpool.core.testing.WorkHandler;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Collectors;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A host JVM killed with SIGKILL in the middle of 2,000 tasks, and a second host JVM started on the same store and
 * pool name: every task ends exactly once, none is lost, the attempts the crash cut carry {@code HOST_LOST}, and
 * nothing of the killed host's process tree is left. On each store ({@link CrashRestartSqliteIT},
 * {@link CrashRestartPostgresIT}).
 */
abstract class CrashRestartContract {
    static final int TASKS = 2_000;
    static final long LEASE_MILLIS = 3_000;
    private final ProcessLeakCheck leaks = ProcessLeakCheck.start();
    @TempDir
    Path dir;

    /** A fresh store for one test. */
    abstract StoreSite site();

    @AfterEach
    void nothingLeftBehind() {
        leaks.assertNoneLeft(Duration.ofSeconds(30));
    }

    @Test
    void aHostKilledMidRunLeavesItsTasksToTheNextHostWhichEndsEachExactlyOnce() throws Exception {
        StoreSite site = site();
        StoreTables tables = site.tables("crash");
        String cTasks = "AND id LIKE 'c-%'";
        Set<String> inFlight;
        String firstName;
        long endedAtKill;
        String firstLostLines;
        try (HostProcess first = HostProcess.start("first", dir, site.hostArgs("crash", LEASE_MILLIS, 2,
                "spawn=true"))) {
            Map<String, String> ready = first.expect("READY", Duration.ofMinutes(2));
            assertFalse(ready.get("child").equals("-"), "a worker of the host started a child: " + ready);
            first.send("SUBMIT c 0 " + TASKS + " 5");
            assertEquals("0", first.expect("SUBMITTED", Duration.ofMinutes(2)).get("rejected"));
            firstName = tables.hostNames().get(first.pid());

            // mid-run: some hundreds ended, attempts in flight. SIGSTOP first pins the moment (the host makes no
            // more progress), so that what it holds can be read; then SIGKILL, as the OOM killer would.
            await().atMost(Duration.ofMinutes(2)).pollInterval(Duration.ofMillis(20))
                    .until(() -> tables.number("COUNT(*)", "ended", cTasks) >= 300);
            AtomicReference<Set<String>> held = new AtomicReference<>(Set.of());
            String holder = firstName;
            first.stopWhen("the host stopped while it holds a running attempt", Duration.ofSeconds(30), () -> {
                held.set(tables.runningByOwner().getOrDefault(holder, Set.of())); // else between two claims
                return !held.get().isEmpty();
            });
            inFlight = held.get();
            endedAtKill = tables.number("COUNT(*)", "ended", cTasks);
            assertTrue(endedAtKill < TASKS, "killed mid-run, not after the end: " + endedAtKill);
            first.kill();
            // read again now that it is dead: a SQLite commit written to the log just before the stop is published
            // to readers only when the next connection recovers the log (the stopped writer had not yet updated the
            // shared index); what the dead host holds can change no more
            inFlight = tables.runningByOwner().getOrDefault(firstName, Set.of());
            firstLostLines = first.log().lines().filter(line -> line.contains("lost") || line.contains("HOST_LOST"))
                    .collect(Collectors.joining("\n"));
            first.assertTreeGone(); // its workers and the child one of them started, by pid and start time
        }

        try (HostProcess second = HostProcess.start("second", dir, site.hostArgs("crash", LEASE_MILLIS, 2))) {
            second.expect("READY", Duration.ofMinutes(2));
            await().atMost(Duration.ofMinutes(2)).pollInterval(Duration.ofMillis(100))
                    .until(() -> tables.number("COUNT(*)", "ended", cTasks) == TASKS);
        }

        assertEquals(TASKS, tables.number("COUNT(DISTINCT id)", "ended", cTasks), "one terminal row per task");
        assertEquals(0, tables.number("COUNT(*)", "task", cTasks), "nothing left waiting or running");
        List<StoreTables.Attempt> failed = tables.failedAttempts();
        Set<String> cut = failed.stream().map(StoreTables.Attempt::taskId).collect(Collectors.toSet());
        assertFalse(cut.isEmpty(), "the crash cut attempts");
        assertTrue(failed.stream().allMatch(a -> a.reason().equals("HOST_LOST") && a.host().equals(firstName)
                && a.attempt() == 1), "the only failed attempts are those the crash cut: " + failed);
        assertTrue(inFlight.containsAll(cut), "attempts cut " + cut + " were running when it was killed: "
                + inFlight + "; failed attempts " + failed + "; the first host said:\n" + firstLostLines);
        System.out.printf("crash: killed with %d of %d tasks ended and %d attempts in flight, %d of them cut%n",
                endedAtKill, TASKS, inFlight.size(), cut.size());
        Set<String> answeredJustBefore = new HashSet<>(inFlight);
        answeredJustBefore.removeAll(cut); // a commit already on its way when the host stopped (PostgreSQL)

        // what the pool's API says of each task, from a third pool on the same store after both hosts
        try (WorkerPool reader = WorkerPool.builder().name("crash").workers(1).taskStore(site.durable()
                .withLeaseTimeout(Duration.ofMillis(LEASE_MILLIS))).worker(WorkerSpec.inProcess(WorkHandler.class))
                .start()) {
            for (int i = 0; i < TASKS; i++) {
                String id = "c-" + i;
                TaskInfo info = reader.task(id).orElseThrow(() -> new AssertionError(id + " was lost"));
                assertEquals(TaskState.SUCCEEDED, info.state(), info::toString);
                assertTrue(info.result().orElseThrow().contains("\"square\":" + ((long) i * i)), info::toString);
                if (cut.contains(id)) {
                    assertEquals(2, info.attempts(), info::toString);
                    assertEquals(List.of(FailureReason.HOST_LOST), info.failedAttempts().stream()
                            .map(AttemptRecord::reason).toList(), info::toString);
                    assertFalse(firstName.equals(info.host()), "rerun by the second host: " + info);
                } else {
                    assertEquals(1, info.attempts(), info::toString);
                    assertTrue(info.failedAttempts().isEmpty(), info::toString);
                    if (answeredJustBefore.contains(id)) {
                        assertEquals(firstName, info.host(), info::toString);
                    }
                }
            }
        }
    }
}
