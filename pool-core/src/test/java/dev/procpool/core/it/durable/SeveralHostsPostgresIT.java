package dev.procpool.core.it.durable;

import dev.procpool.core.internal.store.EmbeddedPg;
import dev.procpool.core.testing.ProcessLeakCheck;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
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
 * Three host JVMs with one pool name on one PostgreSQL database share one queue: 5,000 tasks submitted from all
 * three, one host killed with SIGKILL in the middle. Every task ends exactly once, none is lost, the killed host's
 * attempts are rescued within the lease timeout + 1 s, and the surviving submitters get the results of their tasks
 * that ran on another host.
 */
class SeveralHostsPostgresIT {
    static final long LEASE_MILLIS = 3_000;
    static final int PER_HOST = 1_667;
    @RegisterExtension
    static final EmbeddedPg pg = EmbeddedPg.perTestClass();
    private final ProcessLeakCheck leaks = ProcessLeakCheck.start();
    @TempDir
    Path dir;

    @AfterEach
    void nothingLeftBehind() {
        leaks.assertNoneLeft(Duration.ofSeconds(30));
    }

    @Test
    void threeHostsShareTheQueueAndTheTasksOfAKilledOneAreRescuedWithinTheLease() throws Exception {
        StoreSite site = StoreSite.postgres(pg);
        StoreTables tables = site.tables("shared");
        // ids a-*, b-*, k-*: the submitter is in the id; 1,667 + 1,667 + 1,666 = 5,000
        Map<String, Integer> shares = Map.of("a", PER_HOST, "b", PER_HOST, "k", 5_000 - 2 * PER_HOST);
        try (HostProcess a = HostProcess.start("a", dir, site.hostArgs("shared", LEASE_MILLIS, 2));
             HostProcess b = HostProcess.start("b", dir, site.hostArgs("shared", LEASE_MILLIS, 2));
             HostProcess k = HostProcess.start("k", dir, site.hostArgs("shared", LEASE_MILLIS, 2))) {
            List<HostProcess> hosts = List.of(a, b, k);
            for (HostProcess host : hosts) {
                host.expect("READY", Duration.ofMinutes(2));
            }
            // 20 ms tasks: about 17 s of work on 6 workers, so host k still holds some when the test stops it
            for (HostProcess host : hosts) {
                host.send("SUBMIT " + host.name() + " 0 " + shares.get(host.name()) + " 20");
            }
            for (HostProcess host : hosts) {
                Map<String, String> submitted = host.expect("SUBMITTED", Duration.ofMinutes(2));
                assertEquals(List.of(shares.get(host.name()).toString(), "0"),
                        List.of(submitted.get("0"), submitted.get("rejected")), submitted.get("line"));
            }
            Map<Long, String> names = tables.hostNames();
            String killedName = names.get(k.pid());

            await().atMost(Duration.ofMinutes(2)).pollInterval(Duration.ofMillis(20))
                    .until(() -> tables.ended() >= 1_500);
            AtomicReference<Set<String>> held = new AtomicReference<>(Set.of());
            AtomicReference<Instant> stoppedAt = new AtomicReference<>();
            k.stopWhen("host k stopped while it holds a running attempt", Duration.ofSeconds(30), () -> {
                stoppedAt.set(Instant.now()); // from here on the host renews nothing: its leases run out
                held.set(tables.runningByOwner().getOrDefault(killedName, Set.of()));
                return !held.get().isEmpty();
            });
            Set<String> inFlight = held.get();
            Instant silentSince = stoppedAt.get();
            long endedAtKill = tables.ended();
            assertTrue(endedAtKill < 5_000, "killed mid-run: " + endedAtKill);
            k.kill();
            k.assertTreeGone();

            Map<String, String> resultsA = a.expect("RESULTS", Duration.ofMinutes(3));
            Map<String, String> resultsB = b.expect("RESULTS", Duration.ofMinutes(3));
            await().atMost(Duration.ofMinutes(1)).pollInterval(Duration.ofMillis(100))
                    .until(() -> tables.ended() == 5_000);

            // every task ended exactly once, none lost
            assertEquals(5_000, tables.number("COUNT(DISTINCT id)", "ended", ""));
            assertEquals(5_000, tables.number("COUNT(*)", "ended", "AND state = 'SUCCEEDED'"));
            assertEquals(0, tables.live());

            // the killed host's attempts: closed HOST_LOST and run again, within the lease timeout + 1 s
            List<StoreTables.Attempt> failed = tables.failedAttempts();
            Set<String> cut = failed.stream().map(StoreTables.Attempt::taskId).collect(Collectors.toSet());
            assertFalse(cut.isEmpty());
            assertTrue(failed.stream().allMatch(f -> f.reason().equals("HOST_LOST") && f.host().equals(killedName)
                    && f.attempt() == 1), "the only failed attempts are the killed host's: " + failed);
            assertTrue(inFlight.containsAll(cut), "cut " + cut + " were running on the killed host: " + inFlight);
            assertEquals(cut.size(), tables.number("COUNT(*)", "ended", "AND attempt = 2"));
            assertEquals(5_000 - cut.size(), tables.number("COUNT(*)", "ended", "AND attempt = 1"));
            Instant lastRescue = failed.stream().map(StoreTables.Attempt::endedAt).max(Instant::compareTo)
                    .orElseThrow();
            long rescueMillis = Duration.between(silentSince, lastRescue).toMillis();
            assertTrue(rescueMillis <= LEASE_MILLIS + 1_000, "rescued " + rescueMillis + " ms after the host "
                    + "stopped renewing; the lease timeout is " + LEASE_MILLIS + " ms");

            // the survivors' handles completed with their own tasks' results, also for tasks another host ran
            assertEquals(List.of(Integer.toString(PER_HOST), "0", "0"),
                    List.of(resultsA.get("ok"), resultsA.get("wrong"), resultsA.get("failed")), resultsA.get("line"));
            assertEquals(List.of(Integer.toString(PER_HOST), "0", "0"),
                    List.of(resultsB.get("ok"), resultsB.get("wrong"), resultsB.get("failed")), resultsB.get("line"));
            Map<String, String> finalHosts = tables.finalHosts();
            long aElsewhere = ranElsewhere(finalHosts, "a-", names.get(a.pid()));
            long bElsewhere = ranElsewhere(finalHosts, "b-", names.get(b.pid()));
            assertTrue(aElsewhere > 0 && bElsewhere > 0, "tasks of a and b ran on other hosts: " + aElsewhere
                    + ", " + bElsewhere);
            long kByOthers = ranElsewhere(finalHosts, "k-", killedName);
            System.out.printf("several hosts: killed with %d of 5000 ended and %d attempts in flight (%d cut), "
                    + "rescued %d ms after it stopped renewing; tasks run elsewhere: a %d, b %d, k %d%n",
                    endedAtKill, inFlight.size(), cut.size(), rescueMillis, aElsewhere, bElsewhere, kByOthers);
        }
    }

    private static long ranElsewhere(Map<String, String> finalHosts, String idPrefix, String submitter) {
        return finalHosts.entrySet().stream()
                .filter(e -> e.getKey().startsWith(idPrefix) && !submitter.equals(e.getValue())).count();
    }
}
