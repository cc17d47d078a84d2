package dev.procpool.core.testing;

import dev.procpool.TaskHandler;
import dev.procpool.WorkerSpec;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;

import static org.awaitility.Awaitility.await;

/**
 * Shared helpers for integration tests: fast worker JVM flags, the reference workers, and checks on pids (for what
 * was left behind, see {@link ProcessLeakCheck}).
 */
public final class TestPools {
    private TestPools() {
    }

    /** A Java worker spec with the default JVM options plus the fast-start ones the build gives tests. */
    @SafeVarargs
    public static WorkerSpec.Java javaWorker(Class<? extends TaskHandler>... handlers) {
        WorkerSpec.Java spec = WorkerSpec.java(handlers);
        String options = System.getProperty("procpool.it.workerJvmOptions", "");
        return options.isBlank() ? spec
                : spec.withExtraJvmOptions(Arrays.stream(options.trim().split("\\s+")).toList());
    }

    /** The reference Python worker that pool-examples ships. */
    public static WorkerSpec.Command pythonWorker() {
        return WorkerSpec.command("python3", referenceWorker("python_worker.py").toString());
    }

    /**
     * A reference worker script shipped by pool-examples (one copy for users and tests). Integration tests run
     * with the module directory as working directory, so the sibling module is found from there.
     */
    public static Path referenceWorker(String fileName) {
        Path script = Path.of(System.getProperty("user.dir")).resolveSibling("pool-examples")
                .resolve("src/main/resources/workers").resolve(fileName);
        if (!java.nio.file.Files.isRegularFile(script)) {
            throw new IllegalStateException("reference worker " + script + " not found");
        }
        return script;
    }

    /** Waits until none of the given pids is alive. */
    public static void assertAllDead(List<Long> pids, Duration within) {
        await("worker processes " + pids + " to exit").atMost(within).pollInterval(Duration.ofMillis(20))
                .until(() -> pids.stream().noneMatch(TestPools::alive));
    }

    public static boolean alive(long pid) {
        Optional<ProcessHandle> handle = ProcessHandle.of(pid);
        return handle.isPresent() && handle.get().isAlive();
    }

    /**
     * The command that runs {@code main} as a host in a JVM of its own, with the test's class path and worker JVM
     * options, fast-starting flags, {@code jvmOptions} and then {@code args}.
     */
    public static List<String> hostCommand(Class<?> main, List<String> jvmOptions, String... args) {
        List<String> command = new java.util.ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-cp", System.getProperty("java.class.path")));
        String workerOptions = System.getProperty("procpool.it.workerJvmOptions");
        if (workerOptions != null) {
            command.add("-Dprocpool.it.workerJvmOptions=" + workerOptions);
        }
        command.addAll(jvmOptions);
        command.add(main.getName());
        command.addAll(List.of(args));
        return command;
    }

    /** Whether a program is found on the PATH. */
    public static boolean onPath(String program) {
        return Arrays.stream(System.getenv().getOrDefault("PATH", "/usr/bin:/bin").split(java.io.File.pathSeparator))
                .map(dir -> Path.of(dir.isEmpty() ? "." : dir, program))
                .anyMatch(java.nio.file.Files::isExecutable);
    }
}
