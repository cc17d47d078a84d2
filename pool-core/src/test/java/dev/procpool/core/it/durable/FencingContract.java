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
 * lease timeout, another host rescues the tasks and runs them to the end, and when the stopped host is continued
 * (SIGCONT) its workers' late answers are discarded and counted: each task keeps one terminal outcome, the second
 * host's. On each store ({@link FencingSqliteIT}, {@link FencingPostgresIT}).
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
        Path gate = dir.resolve("gate");
        Path never = dir.resolve("never-opened");
        // the stopped host must not take its own workers for hung when it wakes up: a long heartbeat timeout
        try (HostProcess sleeper = HostProcess.start("sleeper", dir, site.hostArgs("fence", LEASE_MILLIS, 2,
                "heartbeatTimeout=60000"))) {
            sleeper.expect("READY", Duration.ofMinutes(2));
            // f-0 holds its worker until the gate opens, in every attempt: the stopped host's worker answers
            // while its host sleeps, and the host reads the answer when it wakes up. f-1 holds the stopped host's
            // worker until cancelled (its first attempt only): that answer comes after the host saw its lease lost.
            sleeper.send("SUBMIT f 0 1 0 gate=" + gate);
            sleeper.expect("SUBMITTED", Duration.ofMinutes(1));
            sleeper.send("SUBMIT f 1 2 0 firstAttemptGate=" + never);
            sleeper.expect("SUBMITTED", Duration.ofMinutes(1));
            String sleeperName = tables.hostNames().get(sleeper.pid());
            await().atMost(Duration.ofMinutes(1)).until(() -> tables.runningByOwner()
                    .getOrDefault(sleeperName, Set.of()).equals(Set.of("f-0", "f-1")));

            try (HostProcess survivor = HostProcess.start("survivor", dir, site.hostArgs("fence", LEASE_MILLIS,
                    2))) {
                survivor.expect("READY", Duration.ofMinutes(2));
                String survivorName = tables.hostNames().get(survivor.pid());
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
                    System.out.printf("fencing: attempt 1 of %s rescued %d ms after its host stopped%n",
                            attempt.taskId(), rescueMillis);
                    assertTrue(rescueMillis >= LEASE_MILLIS - 600, "not before the lease (renewed every 500 ms) "
                            + "ran out: " + rescueMillis + " ms");
                    assertTrue(rescueMillis <= LEASE_MILLIS + 1_000, "rescued " + rescueMillis + " ms after the "
                            + "host stopped; the lease timeout is " + LEASE_MILLIS + " ms");
                }

                // both hosts' workers answer f-0; only the survivor is awake to record its answer
                Files.writeString(gate, "open");
                await().atMost(Duration.ofSeconds(30)).until(() -> tables.ended() == 2);
                assertEquals(Map.of("f-0", survivorName, "f-1", survivorName), tables.finalHosts());

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
                assertTrue(sleeper.log().contains("its answer is discarded"), sleeper.logTail(30));

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
}
