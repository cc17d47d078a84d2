package dev.procpool.core.internal.store;

import dev.procpool.FailureReason;
import dev.procpool.TaskState;
import dev.procpool.core.testing.Signals;
import org.junit.jupiter.api.Test;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static dev.procpool.core.internal.store.Tasks.task;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Real host processes holding leases: killed with SIGKILL (its attempts are rescued by its pid at once, on the
 * same machine), or stopped with SIGSTOP past its lease (rescued when the lease expires, and its answers after
 * SIGCONT are fenced off). Every test ends with the host process gone, by pid and start time.
 */
interface HostProcessContract extends StoreFixture {
    /** How a child host reaches this test's store: "sqlite <file>" or "postgres <jdbc url>". */
    List<String> childStore();

    /** Stops the host process with SIGSTOP. */
    default void stop(Child child) throws Exception {
        Signals.send("STOP", child.process.pid());
    }

    /** A host process running {@link StoreHostMain}; lines it prints are read with {@link Child#expect}. */
    final class Child implements AutoCloseable {
        final Process process;
        final List<ProcessTrees.Proc> tree;
        final BufferedReader out;
        final Writer in;

        Child(Process process) {
            this.process = process;
            this.tree = ProcessTrees.snapshot(process.toHandle());
            this.out = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
            this.in = new OutputStreamWriter(process.getOutputStream(), StandardCharsets.UTF_8);
        }

        /** The next line that starts with {@code word}, without it; skips others (logs). */
        List<String> expect(String word) throws Exception {
            String line;
            while ((line = out.readLine()) != null) {
                if (line.startsWith(word)) {
                    String rest = line.substring(word.length()).trim();
                    return rest.isEmpty() ? List.of() : Arrays.asList(rest.split(" "));
                }
            }
            throw new AssertionError("the host process ended before printing " + word);
        }

        void send(String line) throws Exception {
            in.write(line + "\n");
            in.flush();
        }

        @Override
        public void close() throws Exception {
            process.destroyForcibly();
            process.waitFor(30, TimeUnit.SECONDS);
            ProcessTrees.assertAllGone(tree);
        }
    }

    default Child startHost(long leaseMillis, int claim) throws Exception {
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java")
                .toString(), "-XX:TieredStopAtLevel=1", "-cp", System.getProperty("java.class.path"),
                StoreHostMain.class.getName()));
        command.addAll(childStore());
        command.addAll(List.of(table(""), pool(), Long.toString(leaseMillis), Integer.toString(claim)));
        Process process = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        return new Child(process);
    }

    @Test
    default void theAttemptsOfAHostKilledWithSigkillAreRescuedByItsPidWithoutWaitingForTheLease() throws Exception {
        JdbcTaskStore survivor = open("survivor");
        survivor.insert(List.of(Tasks.withPolicy("k1", Tasks.RETRY_HOST_LOST),
                Tasks.withPolicy("k2", Tasks.RETRY_HOST_LOST), task("k3")));
        String victimName;
        try (Child victim = startHost(60_000, 2)) {
            victimName = victim.expect("READY").get(0);
            assertEquals(List.of("k1", "k2"), victim.expect("CLAIMED"));
            assertEquals(List.of(), survivor.rescueExpired(Instant.now(), RescueDecider.byRetryPolicy(() -> 0.5)),
                    "a live host keeps its leases");
            Signals.send("KILL", victim.process.pid());
            victim.process.waitFor(30, TimeUnit.SECONDS);
            ProcessTrees.assertAllGone(victim.tree);
        }
        List<RescuedAttempt> rescued = survivor.rescueExpired(Instant.now(), RescueDecider.byRetryPolicy(() -> 0));
        assertEquals(List.of("k1", "k2"), rescued.stream().map(r -> r.lease().taskId()).sorted().toList(),
                "rescued at once, 60 s before the lease would expire");
        assertTrue(rescued.stream().allMatch(r -> r.leaseOwner().equals(victimName) && r.outcome() == null));
        StoredTask k1 = survivor.find("k1").orElseThrow();
        assertEquals(FailureReason.HOST_LOST, k1.failedAttempts().get(0).record().reason());
        assertEquals(victimName, k1.failedAttempts().get(0).host());
        assertTrue(survivor.hosts().stream().anyMatch(h -> h.name().equals(victimName) && h.stoppedAt() != null));
    }

    @Test
    default void aHostStoppedPastItsLeaseLosesItsTasksAndItsLateAnswersAreFenced() throws Exception {
        JdbcTaskStore survivor = open("survivor");
        survivor.insert(List.of(Tasks.withPolicy("s1", Tasks.RETRY_HOST_LOST),
                Tasks.withPolicy("s2", Tasks.RETRY_HOST_LOST)));
        try (Child sleeper = startHost(1_000, 2)) {
            String sleeperName = sleeper.expect("READY").get(0);
            assertEquals(List.of("s1", "s2"), sleeper.expect("CLAIMED"));
            Thread.sleep(1_500); // past the lease: the renewals keep it
            assertEquals(List.of(), survivor.rescueExpired(Instant.now(), RescueDecider.byRetryPolicy(() -> 0)));

            stop(sleeper);
            Instant stopped = Instant.now();
            List<RescuedAttempt> rescued = new ArrayList<>();
            while (rescued.size() < 2 && Duration.between(stopped, Instant.now()).toMillis() < 10_000) {
                rescued.addAll(survivor.rescueExpired(Instant.now(), RescueDecider.byRetryPolicy(() -> 0)));
                Thread.sleep(50);
            }
            long tookMillis = Duration.between(stopped, Instant.now()).toMillis();
            assertEquals(2, rescued.size());
            assertTrue(tookMillis < 1_000 + 1_000, "rescued within the lease timeout + 1 s, took " + tookMillis);
            assertTrue(rescued.stream().allMatch(r -> r.leaseOwner().equals(sleeperName)));

            List<ClaimedTask> retaken = new ArrayList<>();
            while (retaken.size() < 2) { // after the retry policy's 1 s backoff
                retaken.addAll(survivor.claim(2, ServedWork.anything(), Instant.now()).tasks());
                Thread.sleep(50);
            }
            assertEquals(List.of(RecordOutcome.APPLIED, RecordOutcome.APPLIED),
                    survivor.record(retaken.stream().map(c -> Tasks.success(c, Instant.now())).toList()));

            Signals.send("CONT", sleeper.process.pid());
            assertEquals(List.of("2"), sleeper.expect("LOST"));
            sleeper.send("RECORD");
            assertEquals(List.of("FENCED", "FENCED"), sleeper.expect("RECORDED"));
            for (String id : List.of("s1", "s2")) {
                StoredTask task = survivor.find(id).orElseThrow();
                assertEquals(TaskState.SUCCEEDED, task.state());
                assertEquals("survivor", task.finalHost());
                assertEquals(List.of(sleeperName), task.failedAttempts().stream().map(StoredAttempt::host).toList());
            }
            assertEquals(2, number("SELECT COUNT(*) FROM " + table("ended")), "one terminal row per task");
        }
    }
}
