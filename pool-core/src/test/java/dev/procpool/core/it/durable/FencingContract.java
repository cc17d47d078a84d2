package dev.procpool.core.it.durable;

import dev.procpool.core.testing.ProcessLeakCheck;
import org.awaitility.core.ConditionTimeoutException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicReference;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Fencing between host JVMs: a host stopped with SIGSTOP while its workers run two tasks loses its leases after the
 * lease timeout (rescued within the lease timeout + 1 s), another host rescues the tasks and runs them again, and
 * when the stopped host is continued (SIGCONT) its workers' late answers, one read while the other host still runs
 * the task and one that comes after the woken host saw its lease lost, are discarded and counted: each task keeps
 * one terminal outcome, the second host's. On each store ({@link FencingSqliteIT}, {@link FencingPostgresIT}).
 */
abstract class FencingContract {
    static final long LEASE_MILLIS = 3_000;
    private final ProcessLeakCheck leaks = ProcessLeakCheck.start();
    @TempDir
    Path dir;

    /** A fresh store for one test. */
    abstract StoreSite site();

    /** Stops the host with SIGSTOP. */
    void stop(HostProcess host, StoreSite site) throws Exception {
        host.signal("STOP");
    }

    @AfterEach
    void nothingLeftBehind() {
        leaks.assertNoneLeft(Duration.ofSeconds(30));
    }

    @Test
    void aHostStoppedPastItsLeaseLosesItsTasksAndItsLateAnswersAreDiscardedAndCounted() throws Exception {
        StoreSite site = site();
        StoreTables tables = site.tables("fence");
        Path sleeperGate = dir.resolve("sleeper-gate");
        Path survivorGate = dir.resolve("survivor-gate");
        Path never = dir.resolve("never-opened");
        Path answered = Files.createDirectories(dir.resolve("answered"));
        // the stopped host must not take its own workers for hung when it wakes up: a long heartbeat timeout
        try (HostProcess sleeper = HostProcess.start("sleeper", dir, site.hostArgs("fence", LEASE_MILLIS, 2,
                "heartbeatTimeout=60000"))) {
            sleeper.expect("READY", Duration.ofMinutes(2));
            // f-0: its first attempt answers while its host sleeps (the host reads the answer when it wakes up),
            // and the answer arrives while the other host still runs the task: the store's fence must refuse it.
            // f-1: its first attempt holds the worker until cancelled, so its answer comes after the woken host
            // saw its lease lost. Each task runs its later attempts as the test lets it.
            sleeper.send("SUBMIT f 0 1 0 firstAttemptGate=" + sleeperGate + " laterAttemptsGate=" + survivorGate
                    + " doneDir=" + answered);
            sleeper.expect("SUBMITTED", Duration.ofMinutes(1));
            sleeper.send("SUBMIT f 1 2 0 firstAttemptGate=" + never + " doneDir=" + answered);
            sleeper.expect("SUBMITTED", Duration.ofMinutes(1));
            String sleeperName = tables.hostNames().get(sleeper.pid());
            await().atMost(Duration.ofMinutes(1)).until(() -> tables.runningByOwner()
                    .getOrDefault(sleeperName, Set.of()).equals(Set.of("f-0", "f-1")));

            try (HostProcess survivor = HostProcess.start("survivor", dir, site.hostArgs("fence", LEASE_MILLIS,
                    2))) {
                survivor.expect("READY", Duration.ofMinutes(2));
                String survivorName = tables.hostNames().get(survivor.pid());
                // the host may renew until it is stopped: its lease ends between (stopping − one renewal period) +
                // the lease and stopped + the lease; stopping takes a moment (every thread must have stopped)
                Instant stopping = Instant.now();
                stop(sleeper, site);
                Instant stopped = Instant.now();
                sleeper.remember();

                // the leases run out, the survivor rescues the attempts (HOST_LOST) and runs them again
                await().atMost(Duration.ofSeconds(30)).until(() -> tables.ended() == 1 && tables.runningByOwner()
                        .getOrDefault(survivorName, Set.of()).equals(Set.of("f-0")));
                List<StoreTables.Attempt> lost = tables.failedAttempts();
                assertEquals(2, lost.size(), lost::toString);
                for (StoreTables.Attempt attempt : lost) {
                    assertEquals(List.of("HOST_LOST", sleeperName, 1), List.of(attempt.reason(), attempt.host(),
                            attempt.attempt()), attempt::toString);
                    long rescueMillis = Duration.between(stopped, attempt.endedAt()).toMillis();
                    long sinceStopping = Duration.between(stopping, attempt.endedAt()).toMillis();
                    System.out.printf("fencing: attempt 1 of %s rescued %d ms after its host stopped%n",
                            attempt.taskId(), rescueMillis);
                    assertTrue(sinceStopping >= LEASE_MILLIS - 600, "not before the lease (renewed every 500 ms) "
                            + "ran out: " + sinceStopping + " ms after the stop began");
                    assertTrue(rescueMillis <= LEASE_MILLIS + 1_000, "rescued " + rescueMillis + " ms after the "
                            + "host stopped; the lease timeout is " + LEASE_MILLIS + " ms");
                }

                // the stopped host's worker answers f-0; its host reads the answer once continued, while the
                // survivor still runs f-0: the late answer is refused, the task stays the survivor's
                Files.writeString(sleeperGate, "open");
                await().atMost(Duration.ofSeconds(30)).until(() -> Files.exists(answered.resolve("f-0-1")));
                sleeper.signal("CONT");
                AtomicReference<String> snapshot = new AtomicReference<>();
                try {
                    await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(200)).until(() -> {
                        sleeper.send("SNAPSHOT");
                        Map<String, String> words = sleeper.expect("SNAPSHOT", Duration.ofSeconds(10));
                        snapshot.set(words.get("line"));
                        return words.get("fenced").equals("2");
                    });
                } catch (ConditionTimeoutException e) {
                    throw new AssertionError("the woken host did not count its 2 late answers as fenced: "
                            + snapshot.get() + "; its log ends with:\n" + sleeper.logTail(20), e);
                }
                assertTrue(Files.exists(answered.resolve("f-1-1")), "the woken host stopped its f-1 attempt");
                assertTrue(sleeper.log().contains("its answer is discarded"), sleeper.logTail(30));
                assertEquals(Set.of("f-0"), tables.runningByOwner().get(survivorName), "f-0 is still the "
                        + "survivor's: " + tables.finalHosts());
                assertEquals(1, tables.ended());

                Files.writeString(survivorGate, "open");
                await().atMost(Duration.ofSeconds(30)).until(() -> tables.ended() == 2);

                // one terminal outcome per task, the survivor's, and nothing of the late answers
                assertEquals(2, tables.number("COUNT(*)", "ended", "AND state = 'SUCCEEDED' AND attempt = 2"));
                assertEquals(Map.of("f-0", survivorName, "f-1", survivorName), tables.finalHosts());
                assertEquals(2, tables.failedAttempts().size());
                assertEquals(0, tables.live());
                survivor.send("SNAPSHOT");
                assertEquals("0", survivor.expect("SNAPSHOT", Duration.ofSeconds(10)).get("fenced"));
            }
        }
    }

    /**
     * A host that lost its lease on a task it submitted, and claims the task again when it wakes up (no other host
     * could run it), while its worker still runs the first attempt (a handler that does not stop when cancelled):
     * the first attempt's answer is late, and must not become the outcome of the second attempt.
     */
    @Test
    void anAnswerOfALostAttemptIsNotTakenForTheAttemptThatReplacedItOnTheSameHost() throws Exception {
        StoreSite site = site();
        StoreTables tables = site.tables("fence");
        Path firstGate = dir.resolve("first-gate");
        Path laterGate = dir.resolve("later-gate");
        Path answered = Files.createDirectories(dir.resolve("answered"));
        try (HostProcess sleeper = HostProcess.start("sleeper", dir, site.hostArgs("fence", LEASE_MILLIS, 2,
                "heartbeatTimeout=60000"))) {
            sleeper.expect("READY", Duration.ofMinutes(2));
            sleeper.send("SUBMIT f 0 1 0 firstAttemptGate=" + firstGate + " laterAttemptsGate=" + laterGate
                    + " ignoreCancel=true doneDir=" + answered);
            sleeper.expect("SUBMITTED", Duration.ofMinutes(1));
            String sleeperName = tables.hostNames().get(sleeper.pid());
            await().atMost(Duration.ofMinutes(1)).until(() -> tables.describe("f-0")
                    .equals("RUNNING 1 " + sleeperName));

            // the rescuer's workers cannot run the task: it rescues the attempt, and the task waits for a host
            try (HostProcess rescuer = HostProcess.start("rescuer", dir, site.hostArgs("fence", LEASE_MILLIS, 1,
                    "handlers=test"))) {
                rescuer.expect("READY", Duration.ofMinutes(2));
                stop(sleeper, site);
                await().atMost(Duration.ofSeconds(30)).until(() -> tables.describe("f-0").startsWith("QUEUED 1 ")
                        && tables.failedAttempts().size() == 1);

                // woken, the host learns its lease is lost and claims the task again: attempt 2 on its other worker
                sleeper.signal("CONT");
                await().atMost(Duration.ofSeconds(30)).until(() -> tables.describe("f-0")
                        .equals("RUNNING 2 " + sleeperName));

                // the first attempt answers now, while the second runs
                Files.writeString(firstGate, "open");
                await().atMost(Duration.ofSeconds(30)).until(() -> Files.exists(answered.resolve("f-0-1")));
                AtomicReference<String> snapshot = new AtomicReference<>();
                await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(200)).until(() -> {
                    sleeper.send("SNAPSHOT");
                    snapshot.set(sleeper.expect("SNAPSHOT", Duration.ofSeconds(10)).get("fenced"));
                    return !tables.describe("f-0").startsWith("RUNNING") || snapshot.get().equals("1");
                });
                assertEquals("RUNNING 2 " + sleeperName, tables.describe("f-0"), "the late answer of attempt 1 "
                        + "ended the task");

                Files.writeString(laterGate, "open");
                await().atMost(Duration.ofSeconds(30)).until(() -> tables.ended() == 1);
                String ended = tables.describe("f-0");
                assertTrue(ended.startsWith("SUCCEEDED 2 " + sleeperName + " ") && ended.contains("\"attempt\":2"),
                        "the outcome is attempt 2's answer: " + ended);
                assertEquals("1", snapshot.get(), "the late answer was counted");
            }
        }
    }
}
