package dev.procpool.core.it;

import dev.procpool.core.testing.ShutdownHostMain;
import dev.procpool.core.testing.Signals;
import org.junit.jupiter.api.Test;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Paths;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * SIGTERM to a host JVM with tasks running, for each {@code PoolConfig.JvmShutdown}: what happens to the tasks, that
 * the host exits, and that no worker or worker's child is left (found by pid and start time).
 */
class JvmShutdownIT {
    /** The JVM's exit status after SIGTERM: 128 + 15. */
    private static final int SIGTERM_EXIT = 143;

    /** A process as the host saw it; alive only while that pid still names a process started at that instant. */
    private record Identity(long pid, Instant start) {
        static Identity parse(String text) {
            String[] parts = text.split("@");
            return new Identity(Long.parseLong(parts[0]), Instant.parse(parts[1]));
        }

        boolean alive() {
            Optional<ProcessHandle> process = ProcessHandle.of(pid);
            return process.isPresent() && process.get().isAlive()
                    && process.get().info().startInstant().map(start::equals).orElse(true);
        }
    }

    /** A running host and everything it printed. */
    private static final class Host implements AutoCloseable {
        final Process process;
        final List<String> lines = new ArrayList<>();

        Host(String... args) throws IOException {
            List<String> command = new ArrayList<>(List.of(Paths.get(System.getProperty("java.home"), "bin", "java")
                    .toString(), "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-cp",
                    System.getProperty("java.class.path")));
            String workerOptions = System.getProperty("procpool.it.workerJvmOptions");
            if (workerOptions != null) {
                command.add("-Dprocpool.it.workerJvmOptions=" + workerOptions);
            }
            command.add(ShutdownHostMain.class.getName());
            command.addAll(Arrays.asList(args));
            process = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.INHERIT).start();
            Thread reader = new Thread(() -> {
                try (BufferedReader out = new BufferedReader(new InputStreamReader(process.getInputStream(),
                        StandardCharsets.UTF_8))) {
                    for (String line = out.readLine(); line != null; line = out.readLine()) {
                        synchronized (lines) {
                            lines.add(line);
                        }
                    }
                } catch (IOException e) {
                    // the host is gone
                }
            }, "host-output");
            reader.setDaemon(true);
            reader.start();
        }

        List<String> lines() {
            synchronized (lines) {
                return List.copyOf(lines);
            }
        }

        List<String> tagged(String prefix) {
            return lines().stream().filter(l -> l.startsWith(prefix + " ")).map(l -> l.substring(prefix.length() + 1))
                    .toList();
        }

        /** The workers and a worker's child, once two tasks run. */
        List<Identity> processesOnceTasksRun() {
            await("the host to run its tasks").atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(20))
                    .until(() -> !tagged("PROCESSES").isEmpty() || !process.isAlive());
            assertTrue(!tagged("PROCESSES").isEmpty(), "the host died: " + lines());
            List<Identity> processes = Arrays.stream(tagged("PROCESSES").get(0).split(" ")).map(Identity::parse)
                    .toList();
            assertEquals(3, processes.size(), "two workers and a worker's child: " + processes);
            assertTrue(processes.stream().allMatch(Identity::alive));
            return processes;
        }

        /** SIGTERM to the host alone, as a container runtime sends it; returns how long the host took to exit. */
        Duration terminate(Duration within) throws InterruptedException {
            long sent = System.nanoTime();
            Signals.send("TERM", process.pid());
            assertTrue(process.waitFor(within.toMillis(), TimeUnit.MILLISECONDS),
                    "the host did not exit within " + within + ": " + lines());
            return Duration.ofNanos(System.nanoTime() - sent);
        }

        @Override
        public void close() {
            process.descendants().forEach(ProcessHandle::destroyForcibly);
            process.destroyForcibly();
        }
    }

    /** Every result came from a worker the host started with: no task was interrupted and retried elsewhere. */
    private static void assertRanOnTheFirstWorkers(List<String> results, List<Identity> processes) {
        for (String result : results) {
            assertTrue(processes.stream().anyMatch(p -> result.matches(".*\"pid\":" + p.pid() + "[,}].*")),
                    result + " did not come from one of " + processes);
        }
    }

    private static void assertNoneLeft(List<Identity> processes) {
        await("workers and their children " + processes + " to be gone").atMost(Duration.ofSeconds(10))
                .pollInterval(Duration.ofMillis(20)).until(() -> processes.stream().noneMatch(Identity::alive));
    }

    @Test
    void drainByDefaultLetsRunningAndQueuedTasksFinishThenTheHostExitsAndNoWorkerIsLeft() throws Exception {
        try (Host host = new Host("drain", "3", "3000")) {
            List<Identity> processes = host.processesOnceTasksRun();

            host.terminate(Duration.ofSeconds(60));

            assertEquals(SIGTERM_EXIT, host.process.exitValue(), host.lines().toString());
            List<String> results = host.tagged("RESULT");
            assertEquals(3, results.size(), "two running and one queued task finished: " + host.lines());
            assertTrue(results.stream().allMatch(r -> r.contains("\"cancelled\":false")), results.toString());
            assertRanOnTheFirstWorkers(results, processes);
            assertEquals(List.of(), host.tagged("FAILED"));
            assertNoneLeft(processes);
        }
    }

    @Test
    void drainComposesWithTheHostsOwnHookClosingThePoolAtTheSameTime() throws Exception {
        // the tasks outlast the stop escalation (3 × 0.5 s + 5 s), after which a second close() used to kill
        try (Host host = new Host("drain", "2", "8000", "--user-hook")) {
            List<Identity> processes = host.processesOnceTasksRun();

            host.terminate(Duration.ofSeconds(60));

            List<String> lines = host.lines();
            assertEquals(2, host.tagged("RESULT").size(), lines.toString());
            assertRanOnTheFirstWorkers(host.tagged("RESULT"), processes);
            assertEquals(List.of(), host.tagged("FAILED"), lines.toString());
            assertEquals(List.of("TERMINATED"), host.tagged("USER HOOK CLOSED"), lines.toString());
            int lastResult = 0;
            for (int i = 0; i < lines.size(); i++) {
                lastResult = lines.get(i).startsWith("RESULT ") ? i : lastResult;
            }
            assertTrue(lines.indexOf("USER HOOK CLOSED TERMINATED") > lastResult,
                    "the host's close() returned after the drain: " + lines);
            assertNoneLeft(processes);
        }
    }

    @Test
    void stopCancelsEveryTaskAndKillsTheWorkersAtOnce() throws Exception {
        try (Host host = new Host("stop", "3", "60000")) {
            List<Identity> processes = host.processesOnceTasksRun();

            Duration exit = host.terminate(Duration.ofSeconds(30));

            assertTrue(exit.compareTo(Duration.ofSeconds(10)) < 0, "took " + exit);
            assertEquals(List.of("sleep-0 CANCELLED", "sleep-1 CANCELLED", "sleep-2 CANCELLED"),
                    host.tagged("FAILED").stream().sorted().toList(), host.lines().toString());
            assertEquals(List.of(), host.tagged("RESULT"));
            assertNoneLeft(processes);
        }
    }

    @Test
    void noneLeavesThePoolToTheHostWhoseHookCanStillUseAndDrainIt() throws Exception {
        try (Host host = new Host("none", "2", "3000", "--user-hook-with-task")) {
            List<Identity> processes = host.processesOnceTasksRun();

            host.terminate(Duration.ofSeconds(60));

            List<String> lines = host.lines();
            assertTrue(host.tagged("USER HOOK TASK").get(0).contains("\"pid\""), "the pool still took a task: "
                    + lines);
            assertEquals(2, host.tagged("RESULT").size(), lines.toString());
            assertRanOnTheFirstWorkers(host.tagged("RESULT"), processes);
            assertEquals(List.of("TERMINATED"), host.tagged("USER HOOK CLOSED"), lines.toString());
            assertNoneLeft(processes);
        }
    }

    @Test
    void noneWithoutAHookEndsTheTasksWithTheHostAndTheWorkersExitAsTheirInputCloses() throws Exception {
        try (Host host = new Host("none", "2", "60000")) {
            List<Identity> processes = host.processesOnceTasksRun();

            Duration exit = host.terminate(Duration.ofSeconds(30));

            assertTrue(exit.compareTo(Duration.ofSeconds(10)) < 0, "took " + exit);
            assertEquals(List.of(), host.tagged("RESULT"));
            assertNoneLeft(processes);
        }
    }
}
