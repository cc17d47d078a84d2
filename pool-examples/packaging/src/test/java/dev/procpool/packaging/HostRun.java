package dev.procpool.packaging;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

import static org.awaitility.Awaitility.await;

/** One run of a host JVM: its exit code and every line it printed (stdout and stderr together). */
record HostRun(int exitCode, List<String> lines) {
    static final Duration LIMIT = Duration.ofSeconds(90);

    /** Runs the command in the directory until it exits (at most {@link #LIMIT}, then it is killed). */
    static HostRun of(List<String> command, Path directory) throws IOException, InterruptedException {
        Process host = new ProcessBuilder(command).directory(directory.toFile()).redirectErrorStream(true).start();
        List<String> lines = new ArrayList<>();
        Thread reader = new Thread(() -> {
            try (BufferedReader out = new BufferedReader(new InputStreamReader(host.getInputStream(),
                    StandardCharsets.UTF_8))) {
                for (String line = out.readLine(); line != null; line = out.readLine()) {
                    synchronized (lines) {
                        lines.add(line);
                    }
                }
            } catch (IOException e) {
                // the host is gone
            }
        });
        reader.start();
        try {
            if (!host.waitFor(LIMIT.toSeconds(), TimeUnit.SECONDS)) {
                throw new AssertionError("the host did not exit within " + LIMIT + ": " + command);
            }
            reader.join(TimeUnit.SECONDS.toMillis(10));
        } finally {
            host.descendants().forEach(ProcessHandle::destroyForcibly);
            host.destroyForcibly();
        }
        synchronized (lines) {
            return new HostRun(host.exitValue(), List.copyOf(lines));
        }
    }

    /** The lines that start with {@code prefix + " "}, without it. */
    List<String> tagged(String prefix) {
        return lines.stream().filter(l -> l.startsWith(prefix + " ")).map(l -> l.substring(prefix.length() + 1))
                .toList();
    }

    /** A worker a host printed: {@code <pid> <start instant> <command line>}. */
    record Worker(long pid, Instant start, String commandLine) {
        static Worker parse(String line) {
            String[] parts = line.split(" ", 3);
            return new Worker(Long.parseLong(parts[0]), Instant.parse(parts[1]), parts.length > 2 ? parts[2] : "");
        }

        /** Alive only if a process with this pid started at this instant: a reused pid is another process. */
        boolean alive() {
            Optional<ProcessHandle> process = ProcessHandle.of(pid);
            return process.isPresent() && process.get().isAlive()
                    && process.get().info().startInstant().map(start::equals).orElse(true);
        }
    }

    List<Worker> workers() {
        return tagged("WORKER").stream().map(Worker::parse).toList();
    }

    /** Waits until no worker the host printed is alive (by pid and start time). */
    void assertNoWorkerLeft() {
        List<Worker> workers = workers();
        await("workers " + workers + " to be gone").atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(50))
                .until(() -> workers.stream().noneMatch(Worker::alive));
    }

    @Override
    public String toString() {
        return "exit code " + exitCode + ", output:\n" + String.join("\n", lines);
    }

    static List<String> java(String... arguments) {
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java")
                .toString(), "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC"));
        command.addAll(Arrays.asList(arguments));
        return command;
    }
}
