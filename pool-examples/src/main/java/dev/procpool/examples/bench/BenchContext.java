package dev.procpool.examples.bench;

import dev.procpool.PoolConfig;
import dev.procpool.TaskHandle;
import dev.procpool.WorkerGroup;
import dev.procpool.WorkerPool;
import dev.procpool.WorkerSnapshot;
import dev.procpool.WorkerSpec;
import dev.procpool.WorkerState;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * What every workload of one harness run shares: the options and sizes, the results, the private copy of the
 * classpath that every worker and baseline JVM runs, the pools' class-data-sharing directory, and small helpers.
 * Not thread-safe; the harness is sequential.
 */
final class BenchContext {
    final BenchOptions options;
    final BenchOptions.Sizes sizes;
    final PrintStream out;
    final Results results;
    final String javaBin = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    /** The host's own classpath, as Java workers inherit it by default. */
    final String hostClasspath = System.getProperty("java.class.path");
    /** The 100-character string of the echo workloads. */
    final String payload = BenchHandler.payload100();
    final Path tempDir;
    /** A private copy of the classpath, every entry a jar: what every worker and baseline JVM runs. */
    final List<Path> snapshot;
    final String snapshotClasspath;
    /** The pools' class-data-sharing archives: private to this run, so that every run starts alike. */
    final Path cacheDir;
    private final Set<String> primed = new HashSet<>();

    BenchContext(BenchOptions options, PrintStream out, Results results, Path tempDir) throws IOException {
        this.options = options;
        this.sizes = options.sizes();
        this.out = out;
        this.results = results;
        this.tempDir = tempDir;
        this.cacheDir = tempDir.resolve("cds");
        this.snapshot = snapshotClasspath(Files.createDirectories(tempDir.resolve("classpath")));
        this.snapshotClasspath = snapshot.stream().map(Path::toString).collect(Collectors.joining(File.pathSeparator));
    }

    // ------------------------------------------------------------------ pools

    /** A pool of the pool's defaults but for the class-data-sharing directory, which is this run's own. */
    PoolConfig.Builder pool(String name, int workers, WorkerSpec spec) {
        return WorkerPool.builder().name(name).workers(workers).worker(spec).workerCacheDirectory(cacheDir);
    }

    PoolConfig.Builder pool(String name, WorkerGroup group) {
        return WorkerPool.builder().name(name).group(group).workerCacheDirectory(cacheDir);
    }

    /**
     * The benchmark's Java worker: the pool's default JVM options plus any given with --jvm-options, on the
     * private copy of the classpath.
     */
    WorkerSpec.Java javaSpec() {
        return WorkerSpec.java(BenchHandler.class).withClasspath(snapshot).withExtraJvmOptions(options.jvmOptions());
    }

    /**
     * One untimed pool start and task for a worker spec: loads the host's own classes, and lets the pool make its
     * class-data-sharing archive for these JVM options (written when the worker exits), as it would on a
     * deployment's first start. Timed starts then find the archive, as every later start would.
     */
    void prime(WorkerSpec.Java spec) {
        if (!primed.add(spec.toString())) {
            return;
        }
        // the archive is written as the worker exits: time for that before the pool escalates to SIGTERM
        try (WorkerPool pool = pool("bench-prime", 1, spec).stopGracePeriod(Duration.ofSeconds(60)).start()) {
            pool.submitTask(BenchHandler.ECHO, payload).join();
            pool.submitTask(BenchHandler.ECHO, 1).join();
            pool.submitTask(BenchHandler.SHA, 1).join();
            pool.submitTask(BenchHandler.SHA_64K, 1).join();
        }
        results.replaceNote("archives", archives());
    }

    /** The class-data-sharing archives made so far. */
    private String archives() {
        try (Stream<Path> files = Files.list(cacheDir)) {
            List<String> names = files.filter(f -> f.toString().endsWith(".jsa"))
                    .map(f -> f.getFileName() + " (" + sizeKiB(f) + " KiB)").sorted().toList();
            return names.isEmpty() ? "none" : String.join(", ", names);
        } catch (IOException e) {
            return "none (" + e.getMessage() + ")";
        }
    }

    private static long sizeKiB(Path file) {
        try {
            return Files.size(file) >> 10;
        } catch (IOException e) {
            return -1;
        }
    }

    /** Submits {@code tasks} echo tasks and waits for them all. */
    void warm(WorkerPool pool, int tasks) {
        List<TaskHandle> handles = new ArrayList<>();
        for (int i = 0; i < tasks; i++) {
            handles.add(pool.submitTask(BenchHandler.ECHO, payload));
        }
        handles.forEach(TaskHandle::join);
    }

    static List<WorkerSnapshot> awaitAllIdle(WorkerPool pool) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (true) {
            List<WorkerSnapshot> workers = pool.workers();
            if (!workers.isEmpty() && workers.stream().allMatch(w -> w.state() == WorkerState.IDLE && w.healthy())) {
                return workers;
            }
            check(System.nanoTime() < deadline, "workers not idle within 30 s: " + workers);
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(1));
        }
    }

    // ------------------------------------------------------------------ the raw pipe baseline

    /** A bare JVM with the pool's default options that echoes fixed 100-byte frames ({@link RawPipeWorker}). */
    Process startRawPipeWorker() throws IOException {
        List<String> command = concat(List.of(javaBin), WorkerSpec.Java.DEFAULT_JVM_OPTIONS, options.jvmOptions(),
                List.of("-cp", snapshotClasspath, RawPipeWorker.class.getName()));
        return new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.INHERIT).start();
    }

    static void stopRawPipeWorker(Process process) throws InterruptedException {
        try {
            process.getOutputStream().close(); // stdin EOF: it exits
        } catch (IOException ignored) {
            // already gone
        }
        if (!process.waitFor(10, TimeUnit.SECONDS)) {
            process.destroyForcibly();
        }
    }

    static void rawRoundTrip(OutputStream toWorker, InputStream fromWorker, byte[] frame, byte[] reply)
            throws IOException {
        toWorker.write(frame);
        toWorker.flush();
        if (fromWorker.readNBytes(reply, 0, reply.length) != reply.length) {
            throw new IOException("the raw pipe worker closed its stdout");
        }
    }

    byte[] rawFrame() {
        byte[] frame = payload.getBytes(StandardCharsets.US_ASCII);
        check(frame.length == RawPipeWorker.FRAME_BYTES, "payload is not " + RawPipeWorker.FRAME_BYTES + " bytes");
        return frame;
    }

    // ------------------------------------------------------------------ helpers

    @FunctionalInterface
    interface Round {
        void run() throws Exception;
    }

    /** Runs {@code round} at least {@code minRounds} times and until {@code millis} have passed (JIT warm-up). */
    static void warmUp(int minRounds, long millis, Round round) throws Exception {
        long until = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
        for (int i = 0; i < minRounds || System.nanoTime() < until; i++) {
            round.run();
        }
    }

    /**
     * Waits until a killed process is dead: gone from {@code /proc}, a zombie not yet reaped, or its pid taken by
     * another process. A zombie counts as dead: the kill has taken effect, and reaping is the parent's business.
     */
    static void awaitDead(long pid, long startTicks) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (Procs.alive(pid, startTicks)) {
            check(System.nanoTime() < deadline, "process " + pid + " still alive 30 s after SIGKILL");
            LockSupport.parkNanos(TimeUnit.MICROSECONDS.toNanos(100));
        }
    }

    /**
     * Waits up to 10 s for every listed process ({@code {pid, start ticks}}) to be dead, then kills those still
     * running and returns their pids: processes a system left behind.
     */
    static List<Long> leftovers(List<long[]> processes) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        List<long[]> running = new ArrayList<>(processes);
        while (true) {
            running.removeIf(p -> !Procs.alive(p[0], p[1]));
            if (running.isEmpty() || System.nanoTime() > deadline) {
                break;
            }
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(10));
        }
        List<Long> left = new ArrayList<>();
        for (long[] p : running) {
            left.add(p[0]);
            if (Procs.alive(p[0], p[1])) { // checked again just before the signal: the pid is still that process
                ProcessHandle.of(p[0]).ifPresent(ProcessHandle::destroyForcibly);
            }
        }
        return left;
    }

    @SafeVarargs
    static <T> List<T> concat(List<? extends T>... lists) {
        List<T> all = new ArrayList<>();
        for (List<? extends T> list : lists) {
            all.addAll(list);
        }
        return all;
    }

    static void check(boolean condition, String problem) {
        if (!condition) {
            throw new IllegalStateException(problem);
        }
    }

    /**
     * Copies the classpath to {@code directory}, each directory entry as a jar, and loads the harness's own classes.
     * Other builds may clean {@code target/} or reinstall jars while the benchmark runs; a private copy keeps the
     * code under test fixed. Jars only is also what a deployed application has, and what class-data sharing needs.
     */
    private List<Path> snapshotClasspath(Path directory) throws IOException {
        List<Path> jars = new ArrayList<>();
        int index = 0;
        for (String entry : hostClasspath.split(File.pathSeparator)) {
            Path path = Path.of(entry);
            Path jar = directory.resolve(index++ + "-" + path.getFileName()
                    + (Files.isDirectory(path) ? ".jar" : ""));
            if (Files.isRegularFile(path)) {
                Files.copy(path, jar);
            } else if (Files.isDirectory(path)) {
                try (JarOutputStream jarOut = new JarOutputStream(Files.newOutputStream(jar));
                     Stream<Path> files = Files.walk(path)) {
                    for (Path file : files.filter(Files::isRegularFile).sorted().toList()) {
                        String name = path.relativize(file).toString().replace(File.separatorChar, '/');
                        jarOut.putNextEntry(new JarEntry(name));
                        Files.copy(file, jarOut);
                        jarOut.closeEntry();
                        loadIfOurs(name);
                    }
                }
            } else {
                continue;
            }
            jars.add(jar.toAbsolutePath());
        }
        return jars;
    }

    /** Loads a class of this package now, while its class file is surely there. */
    private static void loadIfOurs(String entryName) {
        String prefix = BenchmarkHarness.class.getPackageName().replace('.', '/') + "/";
        // this package only: the JMH classes of the subpackage need not load here
        if (entryName.startsWith(prefix) && entryName.indexOf('/', prefix.length()) < 0
                && entryName.endsWith(".class")) {
            try {
                Class.forName(entryName.substring(0, entryName.length() - ".class".length()).replace('/', '.'),
                        false, BenchmarkHarness.class.getClassLoader());
            } catch (ClassNotFoundException | LinkageError e) {
                // not on the host's classpath after all; the workers have their copy
            }
        }
    }
}
