package dev.procpool.examples.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.procpool.PoolConfig;
import dev.procpool.RestartPolicy;
import dev.procpool.TaskHandle;
import dev.procpool.TaskRequest;
import dev.procpool.TaskResult;
import dev.procpool.WorkerPool;
import dev.procpool.WorkerSnapshot;
import dev.procpool.WorkerGroup;
import dev.procpool.WorkerSpec;
import dev.procpool.WorkerState;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import java.util.stream.Stream;

/**
 * The procpool benchmark: the pool and its baselines on the same work, in one run.
 *
 * <ul>
 *   <li><b>W1 latency</b>: one warm Java worker, sequential round trips of a 100-character task and reply: p50,
 *       p99, tasks/s. Baselines: a raw pipe ping-pong with a second JVM (fixed 100-byte frames, no JSON, the floor
 *       for one round trip) and an in-process {@link ExecutorService} (no isolation, the ceiling). A pool with
 *       in-process workers (engine and JSON, no pipes) splits the pool's cost.</li>
 *   <li><b>W2 throughput</b>: two workers, tiny tasks submitted as fast as {@code submitTask} returns: tasks/s and
 *       CPU time per task in the host (and in the workers). Baseline: an ExecutorService with two threads.</li>
 *   <li><b>W3 CPU-bound</b>: two workers, tasks of about 1 ms of SHA-256 each (calibrated in this process):
 *       total time against the ideal n × cost / 2, from cold workers and again once they are warm.</li>
 *   <li><b>W4 cold start</b>: from building a one-worker pool to its first result: without the pool's start-up
 *       tuning, with its defaults (JVM options and its own AppCDS archive, made by an untimed first start), with
 *       parts of it taken away, with C1 only; a bare JVM's first raw-pipe reply is the floor.</li>
 *   <li><b>W5 recovery</b>: SIGKILL an idle worker; time until a task completes and until the pool is back to full
 *       size with a new ready worker; with one worker, also with a hot spare.</li>
 *   <li><b>Memory</b>: RSS of an idle Java worker (and of a bare JVM), host heap per worker.</li>
 *   <li><b>Spawn</b>: one JVM per task with ProcessBuilder, the way without a pool.</li>
 * </ul>
 *
 * <p>Each workload runs {@code --runs} times; runs are interleaved (run 1 of every workload, then run 2, …) so that
 * a burst of load from elsewhere on the machine does not land on one workload's every sample. The table shows the
 * median and min–max over the runs; ratios are taken run by run between figures of the same run.
 *
 * <pre>
 * mvn -B -q install -DskipTests
 * mvn -B -q -pl pool-examples exec:exec -Dexample.main=dev.procpool.examples.bench.BenchmarkHarness \
 *     -Dexample.args="--runs 3 --out target/bench.json"
 * </pre>
 *
 * <p>Every worker and baseline JVM runs a private copy of the classpath made at start (directories packed as
 * jars): other builds on the machine may clean {@code target/} or reinstall jars mid-run, and a deployed
 * application runs from jars too (which lets the pool's class-data sharing apply). The pools keep their
 * class-data-sharing archives in this run's temporary directory, so that every run starts alike.
 *
 * <p>Options: {@code --runs N} (default 3), {@code --quick} (small counts, a smoke test), {@code --only W1,W2,…}
 * (of W1 W2 W3 W4 W5 MEM SPAWN), {@code --out FILE} (the results as JSON too), {@code --jvm-options "…"} (extra
 * options for every worker JVM and baseline JVM).
 */
public final class BenchmarkHarness {
    /** The workloads, in the order they run within a run. */
    public static final List<String> WORKLOADS = List.of("W1", "W2", "W3", "W4", "W5", "MEM", "SPAWN");

    /** The workload column of the table for each workload. */
    private static final Map<String, String> TABLE_NAMES = Map.of("W1", "W1", "W2", "W2", "W3", "W3", "W4", "W4",
            "W5", "W5", "MEM", "Memory", "SPAWN", "Spawn");

    /**
     * How many tasks and round trips each workload uses. The warm-ups are long because the C2 compilers of the
     * host and of the workers were still busy after 30,000 round trips or 60,000 tiny tasks (seen with perf). W2
     * warms up with batches of {@code w2Warmup} tasks until {@code w2WarmupMillis} have passed: fresh workers
     * reached their steady CPU cost per task (about 4 µs for both) only after 200,000–300,000 tasks. W1 likewise
     * makes at least {@code w1Warmup} round trips and goes on until {@code w1WarmupMillis} have passed, for the
     * pool and for every baseline alike.
     */
    record Sizes(int w1Warmup, long w1WarmupMillis, int w1RoundTrips, int w2Warmup, long w2WarmupMillis,
                 int w2Tasks, int w3Tasks, int spawnTasks, int memWorkers, long calibrationWarmupMillis) {
        static final Sizes FULL = new Sizes(20_000, 3_000, 20_000, 100_000, 4_000, 200_000, 2_000, 10, 4, 2_000);
        static final Sizes QUICK = new Sizes(200, 0, 2_000, 2_000, 0, 20_000, 200, 3, 2, 300);
    }

    record Options(int runs, boolean quick, Set<String> only, Path out, List<String> jvmOptions) {
    }

    private final Options options;
    private final Sizes sizes;
    private final PrintStream out;
    private final Results results;
    private final String javaBin = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    /** The host's own classpath, as Java workers inherit it by default. */
    private final String hostClasspath = System.getProperty("java.class.path");
    private final String payload = BenchHandler.payload100();
    private final com.sun.management.OperatingSystemMXBean os =
            (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
    private Path tempDir;
    /** A private copy of the classpath, every entry a jar: what every worker and baseline JVM runs. */
    private List<Path> snapshot;
    private String snapshotClasspath;
    /** The pools' class-data-sharing archives: private to this run, so that every run starts alike. */
    private Path cacheDir;
    /** SHA-256 rounds per W3 task, calibrated once so every run does the same work. */
    private int shaRounds;
    private String shaExpected;
    private final Set<String> primed = new java.util.HashSet<>();

    private BenchmarkHarness(Options options, PrintStream out) {
        this.options = options;
        this.sizes = options.quick() ? Sizes.QUICK : Sizes.FULL;
        this.out = out;
        this.results = new Results(options.runs());
    }

    public static void main(String[] args) {
        System.exit(run(args, System.out));
    }

    /**
     * Runs the benchmark and prints its tables to {@code out}.
     *
     * @return 0 when every workload ran, 1 when one failed (the others still ran), 2 on bad arguments
     */
    public static int run(String[] args, PrintStream out) {
        Options options;
        try {
            options = parse(args);
        } catch (IllegalArgumentException e) {
            out.println(e.getMessage());
            out.println("usage: BenchmarkHarness [--runs N] [--quick] [--only W1,W2,W3,W4,W5,MEM,SPAWN] "
                    + "[--out results.json] [--jvm-options \"-Xfoo -Xbar\"]");
            return 2;
        }
        // Quiet logs: a killed worker (W5) is logged at WARN with its output tail, which is expected here.
        for (String logger : List.of("org.slf4j.simpleLogger.defaultLogLevel", "org.slf4j.simpleLogger.log.dev.procpool")) {
            if (System.getProperty(logger) == null) {
                System.setProperty(logger, "error");
            }
        }
        return new BenchmarkHarness(options, out).execute(args);
    }

    static Options parse(String[] args) {
        int runs = 3;
        boolean quick = false;
        Set<String> only = new LinkedHashSet<>(WORKLOADS);
        Path outFile = null;
        List<String> jvmOptions = List.of();
        for (int i = 0; i < args.length; i++) {
            String arg = args[i];
            switch (arg) {
                case "--runs" -> {
                    String value = value(args, ++i, arg);
                    try {
                        runs = Integer.parseInt(value);
                    } catch (NumberFormatException e) {
                        runs = 0;
                    }
                    if (runs < 1 || runs > 100) {
                        throw new IllegalArgumentException("--runs must be a whole number from 1 to 100, was "
                                + value);
                    }
                }
                case "--quick" -> quick = true;
                case "--only" -> {
                    only = new LinkedHashSet<>();
                    for (String name : value(args, ++i, arg).split(",")) {
                        String w = name.trim().toUpperCase(Locale.ROOT);
                        w = w.equals("MEMORY") ? "MEM" : w;
                        if (!WORKLOADS.contains(w)) {
                            throw new IllegalArgumentException("--only takes workloads among " + WORKLOADS
                                    + ", got \"" + name + "\"");
                        }
                        only.add(w);
                    }
                }
                case "--out" -> outFile = Path.of(value(args, ++i, arg));
                case "--jvm-options" -> jvmOptions = Arrays.stream(value(args, ++i, arg).trim().split("\\s+"))
                        .filter(s -> !s.isEmpty()).toList();
                default -> throw new IllegalArgumentException("unknown argument \"" + arg + "\"");
            }
        }
        return new Options(runs, quick, only, outFile, jvmOptions);
    }

    private static String value(String[] args, int index, String option) {
        if (index >= args.length) {
            throw new IllegalArgumentException(option + " needs a value");
        }
        return args[index];
    }

    // ------------------------------------------------------------------ the run

    private int execute(String[] args) {
        String loadAtStart = Procs.loadAverage();
        Map<String, Object> machine = Procs.machine();
        out.println("procpool benchmark: " + options.runs() + " run(s)" + (options.quick() ? ", quick sizes" : "")
                + ", workloads " + String.join(",", options.only()));
        out.println("# machine: " + machine);
        out.println("# load average at start: " + loadAtStart);
        boolean failed = false;
        long started = System.nanoTime();
        try {
            tempDir = Files.createTempDirectory("procpool-bench");
            cacheDir = tempDir.resolve("cds");
            snapshot = snapshotClasspath(Files.createDirectories(tempDir.resolve("classpath")));
            snapshotClasspath = snapshot.stream().map(Path::toString).collect(
                    java.util.stream.Collectors.joining(File.pathSeparator));
            prime(javaSpec());
            for (int run = 0; run < options.runs(); run++) {
                for (String workload : WORKLOADS) {
                    if (!options.only().contains(workload)) {
                        continue;
                    }
                    long t0 = System.nanoTime();
                    out.printf(Locale.ROOT, "# run %d/%d %s ...%n", run + 1, options.runs(), workload);
                    try {
                        runWorkload(workload, run);
                        out.printf(Locale.ROOT, "# run %d/%d %s done in %.1f s (load %s)%n", run + 1,
                                options.runs(), workload, (System.nanoTime() - t0) / 1e9, Procs.loadAverage());
                    } catch (Exception | AssertionError e) {
                        failed = true;
                        if (e instanceof InterruptedException) {
                            Thread.currentThread().interrupt();
                        }
                        out.println("# " + workload + " failed in run " + (run + 1) + ": " + e);
                        e.printStackTrace(out);
                        results.note("error." + workload + ".run" + (run + 1), e.toString());
                    }
                }
            }
        } catch (IOException e) {
            out.println("# cannot create a temporary directory: " + e);
            return 1;
        } finally {
            deleteRecursively(tempDir);
        }
        String loadAtEnd = Procs.loadAverage();
        defineRatiosAndTargets();
        printTables(loadAtStart, loadAtEnd, (System.nanoTime() - started) / 1e9);
        if (options.out() != null) {
            try {
                writeJson(args, machine, loadAtStart, loadAtEnd);
                out.println("# results written to " + options.out().toAbsolutePath());
            } catch (IOException e) {
                out.println("# cannot write " + options.out() + ": " + e);
                failed = true;
            }
        }
        return failed ? 1 : 0;
    }

    private void runWorkload(String workload, int run) throws Exception {
        switch (workload) {
            case "W1" -> w1Latency(run);
            case "W2" -> w2Throughput(run);
            case "W3" -> w3CpuBound(run);
            case "W4" -> w4ColdStart(run);
            case "W5" -> w5Recovery(run);
            case "MEM" -> memory(run);
            case "SPAWN" -> spawnPerTask(run);
            default -> throw new IllegalArgumentException(workload);
        }
    }

    /**
     * One untimed pool start and task for a worker spec: loads the host's own classes, and lets the pool make its
     * class-data-sharing archive for these JVM options (written when the worker exits), as it would on a
     * deployment's first start. Timed starts then find the archive, as every later start would.
     */
    private void prime(WorkerSpec.Java spec) {
        if (!primed.add(spec.toString())) {
            return;
        }
        // the archive is written as the worker exits: time for that before the pool escalates to SIGTERM
        try (WorkerPool pool = pool("bench-prime", 1, spec).stopGracePeriod(Duration.ofSeconds(60)).start()) {
            pool.submitTask(BenchHandler.ECHO, payload).join();
            pool.submitTask(BenchHandler.ECHO, 1).join();
            pool.submitTask(BenchHandler.SHA, 1).join();
        }
        results.replaceNote("archives", archives());
    }

    /** The class-data-sharing archives the pools have made so far. */
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
        if (entryName.startsWith(prefix) && entryName.endsWith(".class")) {
            try {
                Class.forName(entryName.substring(0, entryName.length() - ".class".length()).replace('/', '.'),
                        false, BenchmarkHarness.class.getClassLoader());
            } catch (ClassNotFoundException | LinkageError e) {
                // not on the host's classpath after all; the workers have their copy
            }
        }
    }

    // ------------------------------------------------------------------ W1

    @FunctionalInterface
    private interface Round {
        void run() throws Exception;
    }

    /** Runs {@code round} at least {@code minRounds} times and until {@code millis} have passed (JIT warm-up). */
    private static void warmUp(int minRounds, long millis, Round round) throws Exception {
        long until = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
        for (int i = 0; i < minRounds || System.nanoTime() < until; i++) {
            round.run();
        }
    }

    private void w1Latency(int run) throws Exception {
        try (WorkerPool pool = pool("bench-w1", 1, javaSpec()).start()) {
            latency(run, "w1.pool", "pool, 1 Java worker", pool, true);
        }
        try (WorkerPool pool = pool("bench-w1-inproc", 1, WorkerSpec.inProcess(BenchHandler.class)).start()) {
            latency(run, "w1.inproc", "pool, 1 in-process worker (no pipes; diagnostic)", pool, false);
        }
        rawPipeLatency(run);
        executorLatency(run);
    }

    private void latency(int run, String key, String who, WorkerPool pool, boolean processWorker)
            throws Exception {
        warmUp(sizes.w1Warmup(), sizes.w1WarmupMillis(), () -> pool.submitTask(BenchHandler.ECHO, payload).join());
        long workerPid = pool.workers().get(0).pid();
        CpuProbe probe = new CpuProbe(workerPid);
        int n = sizes.w1RoundTrips();
        long[] latencies = new long[n];
        long runNanos = 0;
        long queueNanos = 0;
        TaskResult last = null;
        long start = System.nanoTime();
        for (int i = 0; i < n; i++) {
            long t0 = System.nanoTime();
            last = pool.submitTask(BenchHandler.ECHO, payload).join();
            latencies[i] = System.nanoTime() - t0;
            runNanos += last.runTime().toNanos();
            queueNanos += last.queueTime().toNanos();
        }
        long elapsed = System.nanoTime() - start;
        probe.stop();
        check(payload.equals(last.as(String.class)), "the echo came back changed: " + last.json());
        double mean = Stats.mean(latencies);
        Arrays.sort(latencies);
        results.put(run, "W1", key + ".p50", who + ": round trip p50", "µs",
                Stats.micros(Stats.percentile(latencies, 0.50)));
        results.put(run, "W1", key + ".p99", who + ": round trip p99", "µs",
                Stats.micros(Stats.percentile(latencies, 0.99)));
        results.put(run, "W1", key + ".rate", who + ": sequential tasks/s", "tasks/s", n / (elapsed / 1e9));
        results.put(run, "W1", key + ".mean", who + ": round trip mean", "µs", Stats.micros(mean));
        if (processWorker) {
            // Where the time goes: the pool's own clock from dispatch to the answer (pipe both ways + worker),
            // and the rest (submit: JSON of the payload, the lock, the queue; completion: waking the caller).
            results.put(run, "W1", key + ".dispatchToAnswer", who + ": of which dispatch to answer (mean)", "µs",
                    Stats.micros((double) runNanos / n));
            results.put(run, "W1", key + ".outside", who + ": of which submit + queue + wake caller (mean)", "µs",
                    Stats.micros(mean - (double) runNanos / n));
            results.put(run, "W1", key + ".queue", who + ": of which queue wait (mean)", "µs",
                    Stats.micros((double) queueNanos / n));
            probe.record(run, key, who, n);
        }
    }

    /**
     * CPU time (user and kernel) and context switches of the host and of one worker process over a stretch of
     * round trips: where a round trip's time goes besides the wire. Linux only; silent elsewhere.
     */
    private final class CpuProbe {
        private final long self = ProcessHandle.current().pid();
        private final long worker;
        private final long[] hostCpu0;
        private final long[] workerCpu0;
        private final long hostSwitches0;
        private final long workerSwitches0;
        private long[] hostCpu;
        private long[] workerCpu;
        private long hostSwitches;
        private long workerSwitches;

        CpuProbe(long worker) {
            this.worker = worker;
            hostCpu0 = Procs.cpu(self);
            workerCpu0 = Procs.cpu(worker);
            hostSwitches0 = Procs.contextSwitches(self);
            workerSwitches0 = Procs.contextSwitches(worker);
        }

        void stop() {
            hostCpu = Procs.cpu(self);
            workerCpu = Procs.cpu(worker);
            hostSwitches = Procs.contextSwitches(self);
            workerSwitches = Procs.contextSwitches(worker);
        }

        void record(int run, String key, String who, int n) {
            if (hostCpu0 != null && hostCpu != null) {
                results.put(run, "W1", key + ".hostCpu", who + ": host CPU per round trip (user + kernel)", "µs",
                        Stats.micros((double) (hostCpu[0] + hostCpu[1] - hostCpu0[0] - hostCpu0[1]) / n));
                results.put(run, "W1", key + ".hostSys", who + ": of which kernel", "µs",
                        Stats.micros((double) (hostCpu[1] - hostCpu0[1]) / n));
            }
            if (workerCpu0 != null && workerCpu != null) {
                results.put(run, "W1", key + ".workerCpu", who + ": worker CPU per round trip (user + kernel)", "µs",
                        Stats.micros((double) (workerCpu[0] + workerCpu[1] - workerCpu0[0] - workerCpu0[1]) / n));
                results.put(run, "W1", key + ".workerSys", who + ": of which kernel", "µs",
                        Stats.micros((double) (workerCpu[1] - workerCpu0[1]) / n));
            }
            if (hostSwitches0 >= 0 && hostSwitches >= 0 && workerSwitches0 >= 0 && workerSwitches >= 0) {
                // the host's count includes this harness's other threads, which are idle meanwhile
                results.put(run, "W1", key + ".switches", who + ": context switches per round trip (host + worker)",
                        "switches", (double) (hostSwitches - hostSwitches0 + workerSwitches - workerSwitches0) / n);
            }
        }
    }

    private void rawPipeLatency(int run) throws Exception {
        Process process = startRawPipeWorker();
        try {
            OutputStream toWorker = process.getOutputStream();
            InputStream fromWorker = process.getInputStream();
            byte[] frame = payload.getBytes(StandardCharsets.US_ASCII);
            check(frame.length == RawPipeWorker.FRAME_BYTES, "payload is not " + RawPipeWorker.FRAME_BYTES + " bytes");
            byte[] reply = new byte[RawPipeWorker.FRAME_BYTES];
            warmUp(sizes.w1Warmup(), sizes.w1WarmupMillis(),
                    () -> rawRoundTrip(toWorker, fromWorker, frame, reply));
            int n = sizes.w1RoundTrips();
            long[] latencies = new long[n];
            CpuProbe probe = new CpuProbe(process.pid());
            long start = System.nanoTime();
            for (int i = 0; i < n; i++) {
                long t0 = System.nanoTime();
                rawRoundTrip(toWorker, fromWorker, frame, reply);
                latencies[i] = System.nanoTime() - t0;
            }
            long elapsed = System.nanoTime() - start;
            probe.stop();
            check(Arrays.equals(frame, reply), "the raw pipe echo came back changed");
            Arrays.sort(latencies);
            String who = "raw pipe, 2 JVMs, 100-byte frames (floor)";
            results.put(run, "W1", "w1.raw.p50", who + ": round trip p50", "µs",
                    Stats.micros(Stats.percentile(latencies, 0.50)));
            results.put(run, "W1", "w1.raw.p99", who + ": round trip p99", "µs",
                    Stats.micros(Stats.percentile(latencies, 0.99)));
            results.put(run, "W1", "w1.raw.rate", who + ": sequential round trips/s", "tasks/s",
                    n / (elapsed / 1e9));
            probe.record(run, "w1.raw", who, n);
        } finally {
            stopRawPipeWorker(process);
        }
    }

    private static void rawRoundTrip(OutputStream toWorker, InputStream fromWorker, byte[] frame, byte[] reply)
            throws IOException {
        toWorker.write(frame);
        toWorker.flush();
        if (fromWorker.readNBytes(reply, 0, reply.length) != reply.length) {
            throw new IOException("the raw pipe worker closed its stdout");
        }
    }

    private void executorLatency(int run) throws Exception {
        ExecutorService executor = Executors.newFixedThreadPool(2);
        try {
            warmUp(sizes.w1Warmup(), sizes.w1WarmupMillis(), () -> executor.submit(() -> echo(payload)).get());
            int n = sizes.w1RoundTrips();
            long[] latencies = new long[n];
            for (int i = 0; i < n; i++) {
                long t0 = System.nanoTime();
                executor.submit(() -> echo(payload)).get();
                latencies[i] = System.nanoTime() - t0;
            }
            Arrays.sort(latencies);
            results.put(run, "W1", "w1.exec.p50", "ExecutorService, 2 threads (ceiling): round trip p50", "µs",
                    Stats.micros(Stats.percentile(latencies, 0.50)));
        } finally {
            executor.shutdownNow();
        }
    }

    /** The in-process baselines' task: what {@link BenchHandler} does for {@code echo}, without JSON. */
    private static Object echo(Object value) {
        return value;
    }

    // ------------------------------------------------------------------ W2

    private void w2Throughput(int run) throws Exception {
        int n = sizes.w2Tasks();
        try (WorkerPool pool = pool("bench-w2", 2, javaSpec()).queueCapacity(Math.max(100_000, n + 1)).start()) {
            throughput(run, "w2.pool", "pool, 2 Java workers", pool, true);
        }
        // Pipelined: 32 tasks sent ahead to each worker (WorkerGroup.prefetch), so workers never wait for the host.
        WorkerGroup pipelined = WorkerGroup.builder(PoolConfig.DEFAULT_GROUP, javaSpec()).workers(2)
                .prefetch(32).build();
        try (WorkerPool pool = pool("bench-w2-pipelined", pipelined).queueCapacity(Math.max(100_000, n + 1))
                .start()) {
            throughput(run, "w2.pipelined", "pool, 2 Java workers, prefetch 32", pool, true);
        }
        try (WorkerPool pool = pool("bench-w2-inproc", 2, WorkerSpec.inProcess(BenchHandler.class))
                .queueCapacity(Math.max(100_000, n + 1)).start()) {
            throughput(run, "w2.inproc", "pool, 2 in-process workers (no pipes; diagnostic)", pool, false);
        }
        executorThroughput(run);
    }

    private void throughput(int run, String key, String who, WorkerPool pool, boolean processWorkers)
            throws Exception {
        warmUp(1, sizes.w2WarmupMillis(), () -> tinyBatch(pool, sizes.w2Warmup()));
        List<Long> pids = pool.workers().stream().map(WorkerSnapshot::pid).toList();
        long workerCpu0 = processWorkers ? workersCpu(pids) : -1;
        long hostCpu0 = os.getProcessCpuTime();
        int n = sizes.w2Tasks();
        long start = System.nanoTime();
        TaskHandle[] handles = tinySubmit(pool, n);
        long submitted = System.nanoTime();
        for (TaskHandle handle : handles) {
            handle.join();
        }
        long elapsed = System.nanoTime() - start;
        long hostCpu = os.getProcessCpuTime() - hostCpu0;
        long workerCpu = processWorkers ? workersCpu(pids) - workerCpu0 : -1;
        check(handles[n - 1].join().as(Integer.class) == n - 1, "the last echo came back changed");
        results.put(run, "W2", key + ".rate", who + ": tasks/s", "tasks/s", n / (elapsed / 1e9));
        results.put(run, "W2", key + ".submitRate", who + ": submitTask calls/s", "tasks/s",
                n / ((submitted - start) / 1e9));
        results.put(run, "W2", key + ".hostCpu", who + ": host CPU per task", "µs", Stats.micros((double) hostCpu / n));
        if (processWorkers && workerCpu0 >= 0) {
            results.put(run, "W2", key + ".workerCpu", who + ": worker CPU per task (both)", "µs",
                    Stats.micros((double) workerCpu / n));
        }
    }

    private static TaskHandle[] tinySubmit(WorkerPool pool, int n) {
        TaskHandle[] handles = new TaskHandle[n];
        for (int i = 0; i < n; i++) {
            handles[i] = pool.submitTask(TaskRequest.of(BenchHandler.ECHO, i));
        }
        return handles;
    }

    private static void tinyBatch(WorkerPool pool, int n) {
        for (TaskHandle handle : tinySubmit(pool, n)) {
            handle.join();
        }
    }

    private static long workersCpu(List<Long> pids) {
        long sum = 0;
        for (long pid : pids) {
            long cpu = Procs.cpuNanos(pid);
            if (cpu < 0) {
                return -1;
            }
            sum += cpu;
        }
        return sum;
    }

    private void executorThroughput(int run) throws Exception {
        ExecutorService executor = Executors.newFixedThreadPool(2);
        try {
            warmUp(1, sizes.w2WarmupMillis(), () -> executorBatch(executor, sizes.w2Warmup()));
            int n = sizes.w2Tasks();
            long hostCpu0 = os.getProcessCpuTime();
            long start = System.nanoTime();
            executorBatch(executor, n);
            long elapsed = System.nanoTime() - start;
            long hostCpu = os.getProcessCpuTime() - hostCpu0;
            String who = "ExecutorService, 2 threads (ceiling)";
            results.put(run, "W2", "w2.exec.rate", who + ": tasks/s", "tasks/s", n / (elapsed / 1e9));
            results.put(run, "W2", "w2.exec.hostCpu", who + ": host CPU per task", "µs",
                    Stats.micros((double) hostCpu / n));
        } finally {
            executor.shutdownNow();
        }
    }

    private static void executorBatch(ExecutorService executor, int n) throws Exception {
        List<Future<Object>> futures = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            Integer value = i;
            futures.add(executor.submit(() -> echo(value)));
        }
        for (Future<Object> future : futures) {
            future.get();
        }
    }

    // ------------------------------------------------------------------ W3

    private void w3CpuBound(int run) throws Exception {
        double cost = calibrate();
        int n = sizes.w3Tasks();
        double ideal = n * cost / 2;
        results.put(run, "W3", "w3.cost", "task cost, calibrated in process (" + shaRounds + " × SHA-256 of "
                + BenchHandler.BUFFER_BYTES / 1024 + " KiB)", "ms", Stats.millis(cost));
        results.put(run, "W3", "w3.ideal", n + " tasks: ideal n × cost / 2", "s", ideal / 1e9);
        try (WorkerPool pool = pool("bench-w3", 2, javaSpec()).start()) {
            results.put(run, "W3", "w3.pool.cold", "pool, 2 Java workers, cold: total", "s", shaBatch(pool, n) / 1e9);
            double[] split = new double[2];
            results.put(run, "W3", "w3.pool.warm", "pool, 2 Java workers, warm: total", "s",
                    shaBatch(pool, n, split) / 1e9);
            // Where the time goes: hashing in the handler, against dispatch to answer as the pool measures it
            // (the difference is the pipes, the hand-offs between threads and their wake-ups).
            results.put(run, "W3", "w3.pool.warm.handler", "pool, warm: time in the handler per task (mean)", "ms",
                    Stats.millis(split[1]));
            results.put(run, "W3", "w3.pool.warm.run", "pool, warm: dispatch to answer per task (mean)", "ms",
                    Stats.millis(split[0]));
        }
        // The same with the next task sent ahead (WorkerGroup.prefetch 1): a worker never idles between tasks.
        WorkerGroup ahead = WorkerGroup.builder(PoolConfig.DEFAULT_GROUP, javaSpec()).workers(2).prefetch(1).build();
        try (WorkerPool pool = pool("bench-w3-prefetch", ahead).start()) {
            shaBatch(pool, n); // cold run, not reported
            results.put(run, "W3", "w3.prefetch.warm", "pool, 2 Java workers, prefetch 1, warm: total", "s",
                    shaBatch(pool, n) / 1e9);
        }
        ExecutorService executor = Executors.newFixedThreadPool(2);
        try {
            executorShaBatch(executor, n); // warm-up
            results.put(run, "W3", "w3.exec.warm", "ExecutorService, 2 threads, warm: total", "s",
                    executorShaBatch(executor, n) / 1e9);
        } finally {
            executor.shutdownNow();
        }
    }

    /**
     * Warms SHA-256 up in this JVM, fixes the rounds per task on first use (about 1 ms), and returns the median cost
     * of one task now, in nanoseconds.
     */
    private double calibrate() {
        long until = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(sizes.calibrationWarmupMillis());
        while (System.nanoTime() < until) {
            BenchHandler.sha(16);
        }
        if (shaRounds == 0) {
            // Scale the rounds until a task costs about 1 ms; a few passes, as the JIT may still be settling.
            int rounds = 64;
            for (int pass = 0; pass < 6; pass++) {
                double cost = medianCost(rounds, 21);
                int next = (int) Math.max(1, Math.round(rounds * 1_000_000 / cost));
                boolean settled = Math.abs(next - rounds) <= rounds / 20;
                rounds = next;
                if (settled) {
                    break;
                }
            }
            shaRounds = rounds;
            shaExpected = BenchHandler.sha(shaRounds);
        }
        return medianCost(shaRounds, options.quick() ? 21 : 101);
    }

    private static double medianCost(int rounds, int samples) {
        double[] costs = new double[samples];
        for (int i = 0; i < costs.length; i++) {
            long t0 = System.nanoTime();
            BenchHandler.sha(rounds);
            costs[i] = System.nanoTime() - t0;
        }
        return Stats.median(costs);
    }

    private long shaBatch(WorkerPool pool, int n) {
        return shaBatch(pool, n, new double[2]);
    }

    /**
     * Runs n SHA tasks at once; returns the elapsed nanoseconds, and puts the mean dispatch-to-answer time in
     * {@code split[0]} and the mean time in the handler in {@code split[1]}.
     */
    private long shaBatch(WorkerPool pool, int n, double[] split) {
        long start = System.nanoTime();
        List<TaskHandle> handles = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            handles.add(pool.submitTask(TaskRequest.of(BenchHandler.SHA, shaRounds)));
        }
        for (TaskHandle handle : handles) {
            handle.join();
        }
        long elapsed = System.nanoTime() - start;
        double runNanos = 0;
        double handlerNanos = 0;
        for (TaskHandle handle : handles) {
            TaskResult result = handle.join();
            ShaAnswer answer = result.as(ShaAnswer.class);
            check(shaExpected.equals(answer.digest()), "a worker computed another digest: " + result.json());
            runNanos += result.runTime().toNanos();
            handlerNanos += answer.nanos();
        }
        split[0] = runNanos / n;
        split[1] = handlerNanos / n;
        return elapsed;
    }

    /** What a {@value BenchHandler#SHA} task answers. */
    record ShaAnswer(String digest, long nanos) {
    }

    private long executorShaBatch(ExecutorService executor, int n) throws Exception {
        long start = System.nanoTime();
        List<Future<String>> futures = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            futures.add(executor.submit(() -> BenchHandler.sha(shaRounds)));
        }
        for (Future<String> future : futures) {
            future.get();
        }
        return System.nanoTime() - start;
    }

    // ------------------------------------------------------------------ W4

    /** A way to start the one worker of W4; {@code cds} is the pool's class-data-sharing setting. */
    private record Variant(String key, String label, WorkerSpec.Java spec, boolean cds) {
    }

    private void w4ColdStart(int run) throws Exception {
        List<String> c1 = List.of("-XX:TieredStopAtLevel=1");
        boolean hostHasDirectory = Arrays.stream(hostClasspath.split(File.pathSeparator))
                .anyMatch(entry -> Files.isDirectory(Path.of(entry)));
        List<Variant> variants = new ArrayList<>(List.of(
                new Variant("none", "no JVM options, no AppCDS (without the pool's tuning)",
                        javaSpec().withJvmOptions(options.jvmOptions()), false),
                new Variant("hostcp", "pool defaults, host classpath" + (hostHasDirectory
                        ? " (a directory on it: no AppCDS)" : ""),
                        WorkerSpec.java(BenchHandler.class).withExtraJvmOptions(options.jvmOptions()), true),
                new Variant("noappcds", "pool default JVM options, classDataSharing(false)", javaSpec(), false),
                new Variant("xshareoff", "pool default JVM options + -Xshare:off (no CDS at all)",
                        javaSpec().withExtraJvmOptions(List.of("-Xshare:off")), false),
                new Variant("defaults", "pool defaults (JVM options + the pool's AppCDS archive)", javaSpec(), true),
                new Variant("c1", "pool defaults + -XX:TieredStopAtLevel=1", javaSpec().withExtraJvmOptions(c1),
                        true)));
        for (Variant variant : variants) {
            if (variant.cds()) {
                prime(variant.spec()); // the archive exists before the timed start, as after a first start
            }
        }
        // Rotate the order from run to run, so no variant always follows the same one.
        java.util.Collections.rotate(variants, -run);
        for (Variant variant : variants) {
            long t0 = System.nanoTime();
            try (WorkerPool pool = pool("bench-w4", 1, variant.spec()).classDataSharing(variant.cds()).start()) {
                long ready = System.nanoTime();
                TaskResult first = pool.submitTask(BenchHandler.ECHO, payload).join();
                long done = System.nanoTime();
                results.put(run, "W4", "w4." + variant.key(), variant.label() + ": build to first result", "ms",
                        Stats.millis(done - t0));
                if (variant.key().equals("defaults")) {
                    results.put(run, "W4", "w4.defaults.ready", "pool defaults: of which start() until ready", "ms",
                            Stats.millis(ready - t0));
                }
                results.note("w4." + variant.key() + ".jvm", jvmFlags(Procs.commandLine(first.workerPid())));
            }
        }
        // The floor: a bare JVM's first raw-pipe reply, with the pool's default JVM options.
        long t0 = System.nanoTime();
        Process process = startRawPipeWorker();
        try {
            byte[] frame = payload.getBytes(StandardCharsets.US_ASCII);
            rawRoundTrip(process.getOutputStream(), process.getInputStream(), frame, new byte[frame.length]);
            results.put(run, "W4", "w4.floor", "bare JVM, first raw-pipe reply (floor)", "ms",
                    Stats.millis(System.nanoTime() - t0));
        } finally {
            stopRawPipeWorker(process);
        }
    }

    /** A worker's command line without its classpath, which is long and the same for all. */
    private static String jvmFlags(String commandLine) {
        return commandLine.replaceAll(" -cp \\S+", " -cp …");
    }

    // ------------------------------------------------------------------ W5

    private void w5Recovery(int run) throws Exception {
        try (WorkerPool pool = pool("bench-w5", 2, javaSpec()).start()) {
            warm(pool, 200);
            long victim = awaitAllIdle(pool).get(0).pid();
            kill9(victim);
            long t0 = System.nanoTime();
            TaskResult result = pool.submitTask(BenchHandler.ECHO, payload).join();
            long anyTask = System.nanoTime() - t0;
            awaitFullSize(pool, 2, victim);
            long fullSize = System.nanoTime() - t0;
            results.put(run, "W5", "w5.two.anyTask", "2 workers, one killed: a task completes", "ms",
                    Stats.millis(anyTask));
            results.put(run, "W5", "w5.two.anyTask.attempts", "2 workers, one killed: attempts that task took",
                    "attempts", result.attempt());
            results.put(run, "W5", "w5.two.fullSize", "2 workers, one killed: back to 2 ready workers", "ms",
                    Stats.millis(fullSize));
        }
        replacementOnly(run, "w5.one", "1 worker killed: a task completes on its replacement",
                RestartPolicy.defaults(), 0);
        replacementOnly(run, "w5.one.nodelay", "same, restart initialDelay 0 (diagnostic)",
                RestartPolicy.builder().initialDelay(Duration.ZERO).build(), 0);
        replacementOnly(run, "w5.one.spare", "same, 1 hot spare (WorkerGroup.hotSpares)", RestartPolicy.defaults(), 1);
    }

    private void replacementOnly(int run, String key, String label, RestartPolicy restartPolicy, int spares)
            throws Exception {
        WorkerGroup group = WorkerGroup.builder(PoolConfig.DEFAULT_GROUP, javaSpec()).workers(1).hotSpares(spares)
                .build();
        try (WorkerPool pool = pool("bench-w5-one", group).restartPolicy(restartPolicy).start()) {
            warm(pool, 200);
            // the worker that served the tasks; a hot spare serves none
            long victim = awaitAllIdle(pool).stream().filter(w -> w.tasksServed() > 0).findFirst()
                    .orElseThrow(() -> new IllegalStateException("no worker served the warm-up")).pid();
            kill9(victim);
            long t0 = System.nanoTime();
            TaskResult result = pool.submitTask(BenchHandler.ECHO, payload).join();
            long elapsed = System.nanoTime() - t0;
            check(result.workerPid() != victim, "the task completed on the killed worker");
            results.put(run, "W5", key, label, "ms", Stats.millis(elapsed));
            // 2 attempts: the first was sent to the killed worker before the pool saw it die, and was retried
            results.put(run, "W5", key + ".attempts", label.replaceFirst(": .*", "") + ": attempts that task took",
                    "attempts", result.attempt());
        }
    }

    private void warm(WorkerPool pool, int tasks) {
        List<TaskHandle> handles = new ArrayList<>();
        for (int i = 0; i < tasks; i++) {
            handles.add(pool.submitTask(BenchHandler.ECHO, payload));
        }
        handles.forEach(TaskHandle::join);
    }

    private static List<WorkerSnapshot> awaitAllIdle(WorkerPool pool) {
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

    /** Waits until the pool has {@code size} ready workers, none of them the killed one. */
    private static void awaitFullSize(WorkerPool pool, int size, long killedPid) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (true) {
            List<WorkerSnapshot> workers = pool.workers();
            if (workers.size() == size && workers.stream().allMatch(w -> w.pid() != killedPid && w.healthy()
                    && (w.state() == WorkerState.IDLE || w.state() == WorkerState.BUSY))) {
                return;
            }
            check(System.nanoTime() < deadline, "pool not back to " + size + " workers within 60 s: " + workers);
            LockSupport.parkNanos(TimeUnit.MICROSECONDS.toNanos(200));
        }
    }

    private static void kill9(long pid) throws IOException, InterruptedException {
        Process kill = new ProcessBuilder("kill", "-9", Long.toString(pid)).redirectErrorStream(true).start();
        kill.getInputStream().transferTo(OutputStream.nullOutputStream());
        check(kill.waitFor(10, TimeUnit.SECONDS) && kill.exitValue() == 0, "kill -9 " + pid + " failed");
    }

    // ------------------------------------------------------------------ memory

    private void memory(int run) throws Exception {
        int n = sizes.memWorkers();
        MemoryMXBean memory = ManagementFactory.getMemoryMXBean();
        settleHeap();
        long heapBefore = memory.getHeapMemoryUsage().getUsed();
        try (WorkerPool pool = pool("bench-mem", n, javaSpec()).start()) {
            settleHeap();
            long heapAfter = memory.getHeapMemoryUsage().getUsed();
            results.put(run, "MEM", "mem.hostHeapPerWorker", "host heap per worker (pool of " + n + ", after GC)",
                    "KiB", (heapAfter - heapBefore) / (double) n / 1024);
            warm(pool, 50 * n);
            // idle for two heartbeats, so that every worker has reported its memory
            long interval = pool.config().heartbeatInterval().toMillis();
            Thread.sleep(2 * interval + 200);
            List<WorkerSnapshot> workers = awaitAllIdle(pool);
            double[] procRss = workers.stream().mapToDouble(w -> Procs.rssBytes(w.pid())).toArray();
            double[] reportedRss = workers.stream().mapToDouble(WorkerSnapshot::rssBytes).toArray();
            double[] heapUsed = workers.stream().mapToDouble(WorkerSnapshot::heapUsedBytes).toArray();
            results.put(run, "MEM", "mem.workerRss", "idle Java worker RSS (VmRSS, median of " + n + ")", "MiB",
                    Stats.median(procRss) / (1 << 20));
            results.put(run, "MEM", "mem.workerRssReported", "idle Java worker RSS as pool.workers() reports it",
                    "MiB", Stats.median(reportedRss) / (1 << 20));
            results.put(run, "MEM", "mem.workerHeap", "idle Java worker heap in use (heartbeat)", "MiB",
                    Stats.median(heapUsed) / (1 << 20));
        }
        Process process = startRawPipeWorker();
        try {
            byte[] frame = payload.getBytes(StandardCharsets.US_ASCII);
            byte[] reply = new byte[frame.length];
            for (int i = 0; i < 100; i++) {
                rawRoundTrip(process.getOutputStream(), process.getInputStream(), frame, reply);
            }
            Thread.sleep(200);
            results.put(run, "MEM", "mem.bareJvmRss", "bare JVM RSS, same options (raw pipe worker; floor)", "MiB",
                    Procs.rssBytes(process.pid()) / (double) (1 << 20));
        } finally {
            stopRawPipeWorker(process);
        }
    }

    private static void settleHeap() throws InterruptedException {
        for (int i = 0; i < 2; i++) {
            System.gc();
            Thread.sleep(100);
        }
    }

    // ------------------------------------------------------------------ spawn per task

    private void spawnPerTask(int run) throws Exception {
        ObjectMapper mapper = new ObjectMapper();
        String task = mapper.writeValueAsString(Map.of("taskType", BenchHandler.ECHO, "payload", payload));
        List<String> command = concat(List.of(javaBin), WorkerSpec.Java.DEFAULT_JVM_OPTIONS, options.jvmOptions(),
                List.of("-cp", snapshotClasspath, OneShotTask.class.getName(), task));
        int n = sizes.spawnTasks();
        long[] times = new long[n];
        for (int i = 0; i < n; i++) {
            long t0 = System.nanoTime();
            Process process = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.INHERIT).start();
            String printed = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            check(process.waitFor(60, TimeUnit.SECONDS) && process.exitValue() == 0,
                    "the one-shot JVM failed: " + printed);
            times[i] = System.nanoTime() - t0;
            check(printed.contains(payload), "the one-shot JVM answered " + printed);
        }
        results.put(run, "SPAWN", "spawn.mean", "one JVM per task (ProcessBuilder): time per task (mean of " + n
                + ")", "ms", Stats.millis(Stats.mean(times)));
    }

    // ------------------------------------------------------------------ helpers

    /** A pool of the pool's defaults but for the class-data-sharing directory, which is this run's own. */
    private PoolConfig.Builder pool(String name, int workers, WorkerSpec spec) {
        return WorkerPool.builder().name(name).workers(workers).worker(spec).workerCacheDirectory(cacheDir);
    }

    private PoolConfig.Builder pool(String name, WorkerGroup group) {
        return WorkerPool.builder().name(name).group(group).workerCacheDirectory(cacheDir);
    }

    /**
     * The benchmark's Java worker: the pool's default JVM options plus any given with --jvm-options, on the
     * private copy of the classpath.
     */
    private WorkerSpec.Java javaSpec() {
        return WorkerSpec.java(BenchHandler.class).withClasspath(snapshot).withExtraJvmOptions(options.jvmOptions());
    }

    private Process startRawPipeWorker() throws IOException {
        List<String> command = concat(List.of(javaBin), WorkerSpec.Java.DEFAULT_JVM_OPTIONS, options.jvmOptions(),
                List.of("-cp", snapshotClasspath, RawPipeWorker.class.getName()));
        return new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.INHERIT).start();
    }

    private static void stopRawPipeWorker(Process process) throws InterruptedException {
        try {
            process.getOutputStream().close(); // stdin EOF: it exits
        } catch (IOException ignored) {
            // already gone
        }
        if (!process.waitFor(10, TimeUnit.SECONDS)) {
            process.destroyForcibly();
        }
    }

    @SafeVarargs
    private static <T> List<T> concat(List<? extends T>... lists) {
        List<T> all = new ArrayList<>();
        for (List<? extends T> list : lists) {
            all.addAll(list);
        }
        return all;
    }

    private static void check(boolean condition, String problem) {
        if (!condition) {
            throw new IllegalStateException(problem);
        }
    }

    private static void deleteRecursively(Path directory) {
        if (directory == null) {
            return;
        }
        try (Stream<Path> paths = Files.walk(directory)) {
            for (Path path : paths.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(path);
            }
        } catch (IOException | UncheckedIOException e) {
            // a temporary directory; best effort
        }
    }

    // ------------------------------------------------------------------ report

    private void defineRatiosAndTargets() {
        Results.Bound none = null;
        results.ratio("W1", "pool p50 / raw pipe p50", "w1.pool.p50", "w1.raw.p50", "× raw pipe p50",
                new Results.Bound(true, 2.0, "≤ 2×"));
        results.ratio("W1", "pool p99 / raw pipe p99", "w1.pool.p99", "w1.raw.p99", "× raw pipe p99", none);
        results.ratio("W1", "in-process-worker pool p50 / raw pipe p50", "w1.inproc.p50", "w1.raw.p50",
                "× raw pipe p50", none);
        results.ratio("W2", "pool tasks/s / ExecutorService tasks/s", "w2.pool.rate", "w2.exec.rate",
                "× ExecutorService", none);
        results.ratio("W2", "pool host CPU per task / ExecutorService's", "w2.pool.hostCpu", "w2.exec.hostCpu",
                "× ExecutorService", none);
        results.ratio("W3", "pool cold total / ideal", "w3.pool.cold", "w3.ideal", "× ideal", none);
        results.ratio("W3", "pool (prefetch 1) warm total / ideal", "w3.prefetch.warm", "w3.ideal", "× ideal",
                none);
        results.ratio("W3", "pool warm total / ideal", "w3.pool.warm", "w3.ideal", "× ideal",
                new Results.Bound(true, 1.15, "≤ 1.15×"));
        results.ratio("W3", "ExecutorService warm total / ideal", "w3.exec.warm", "w3.ideal", "× ideal", none);
        results.ratio("W4", "no tuning / pool defaults", "w4.none", "w4.defaults", "× pool defaults", none);
        results.ratio("W4", "host classpath (no AppCDS) / pool defaults", "w4.hostcp", "w4.defaults",
                "× pool defaults", none);
        results.ratio("W4", "classDataSharing(false) / pool defaults", "w4.noappcds", "w4.defaults",
                "× pool defaults", none);
        results.ratio("W4", "defaults + C1 only / pool defaults", "w4.c1", "w4.defaults", "× pool defaults", none);
        results.ratio("W4", "pool defaults / bare JVM floor", "w4.defaults", "w4.floor", "× bare JVM", none);
        results.ratio("Spawn", "one JVM per task / pool round trip (W1 mean)", "spawn.mean", "w1.pool.mean",
                1000.0, "× pool per task (W1 mean)", none); // ms / µs

        results.target("W1 p50 ≤ 2× raw pipe p50", "ratio:w1.pool.p50/w1.raw.p50",
                new Results.Bound(true, 2.0, "≤ 2×"));
        results.target("W2 ≥ 200,000 tasks/s", "w2.pool.rate", new Results.Bound(false, 200_000, "≥ 200,000"));
        results.target("W2 ≥ 200,000 tasks/s (prefetch 32)", "w2.pipelined.rate",
                new Results.Bound(false, 200_000, "≥ 200,000"));
        results.target("W3 warm ≤ 1.15× ideal", "ratio:w3.pool.warm/w3.ideal",
                new Results.Bound(true, 1.15, "≤ 1.15×"));
        results.target("W3 warm ≤ 1.15× ideal (prefetch 1)", "ratio:w3.prefetch.warm/w3.ideal",
                new Results.Bound(true, 1.15, "≤ 1.15×"));
        results.target("W4 ≤ 250 ms with tuning (pool defaults: options + AppCDS)", "w4.defaults",
                new Results.Bound(true, 250, "≤ 250 ms"));
        results.target("W4 ≤ 250 ms with tuning (defaults + C1 only)", "w4.c1",
                new Results.Bound(true, 250, "≤ 250 ms"));
        results.target("W5 ≤ 250 ms (1 worker: task done on replacement)", "w5.one",
                new Results.Bound(true, 250, "≤ 250 ms"));
        results.target("W5 ≤ 250 ms (same, with 1 hot spare)", "w5.one.spare",
                new Results.Bound(true, 250, "≤ 250 ms"));
        results.target("W5 ≤ 250 ms (2 workers: back to full size)", "w5.two.fullSize",
                new Results.Bound(true, 250, "≤ 250 ms"));
        results.target("idle Java worker ≤ 60 MB RSS", "mem.workerRss", new Results.Bound(true, 60, "≤ 60 MiB"));
    }

    /** The median of a metric, or of a ratio named "ratio:num/den". */
    private double figure(String key) {
        if (key.startsWith("ratio:")) {
            String[] sides = key.substring("ratio:".length()).split("/");
            for (Results.Ratio ratio : results.ratios()) {
                if (ratio.numerator().equals(sides[0]) && ratio.denominator().equals(sides[1])) {
                    return Stats.median(results.values(ratio));
                }
            }
            return Double.NaN;
        }
        Results.Metric metric = results.metric(key);
        return metric == null ? Double.NaN : metric.median();
    }

    private void printTables(String loadAtStart, String loadAtEnd, double seconds) {
        out.println();
        out.printf(Locale.ROOT, "procpool benchmark results: median and min–max over %d run(s); %.0f s in all; "
                + "load average %s at start, %s at end%n", options.runs(), seconds, loadAtStart, loadAtEnd);
        int labelWidth = results.metrics().stream().mapToInt(m -> m.label.length()).max().orElse(10);
        String format = "%-8s  %-" + labelWidth + "s  %-8s  %12s  %-25s  %s%n";
        out.printf(Locale.ROOT, format, "workload", "metric", "unit", "median", "min–max", "ratio (median of runs)");
        Map<String, String> ratioText = new LinkedHashMap<>();
        for (Results.Ratio ratio : results.ratios()) {
            double median = Stats.median(results.values(ratio));
            if (Double.isFinite(median)) {
                ratioText.putIfAbsent(ratio.numerator(), Stats.format(median) + ratio.shortName());
            }
        }
        for (Results.Metric metric : results.metrics()) {
            out.printf(Locale.ROOT, format, TABLE_NAMES.getOrDefault(metric.workload, metric.workload),
                    metric.label, metric.unit, Stats.format(metric.median()), Stats.range(metric.values),
                    ratioText.getOrDefault(metric.key, ""));
        }
        out.println();
        out.printf(Locale.ROOT, "%-8s  %-52s  %10s  %-25s  %s%n", "ratios", "(run by run)", "median", "min–max",
                "target");
        for (Results.Ratio ratio : results.ratios()) {
            double[] values = results.values(ratio);
            double median = Stats.median(values);
            String target = ratio.target() == null ? "" : ratio.target().text()
                    + (ratio.target().met(median) ? " met" : Double.isFinite(median) ? " NOT met" : "");
            out.printf(Locale.ROOT, "%-8s  %-52s  %10s  %-25s  %s%n", ratio.workload(), ratio.label(),
                    Stats.format(median), Stats.range(values), target);
        }
        out.println();
        out.printf(Locale.ROOT, "%-54s  %12s  %-12s  %s%n", "targets", "median", "target", "met");
        for (Results.Target target : results.targets()) {
            double figure = figure(target.metric());
            out.printf(Locale.ROOT, "%-54s  %12s  %-12s  %s%n", target.label(), Stats.format(figure),
                    target.bound().text(), Double.isFinite(figure) ? (target.bound().met(figure) ? "yes" : "no")
                            : "not measured");
        }
        if (!results.notes().isEmpty()) {
            out.println();
            results.notes().forEach((key, text) -> out.println("# " + key + ": " + text));
        }
    }

    private void writeJson(String[] args, Map<String, Object> machine, String loadAtStart, String loadAtEnd)
            throws IOException {
        Map<String, Object> json = new LinkedHashMap<>();
        json.put("machine", machine);
        json.put("arguments", List.of(args));
        json.put("runs", options.runs());
        json.put("quick", options.quick());
        json.put("sizes", Map.of("w1Warmup", sizes.w1Warmup(), "w1WarmupMillis", sizes.w1WarmupMillis(),
                "w1RoundTrips", sizes.w1RoundTrips(), "w2Warmup", sizes.w2Warmup(),
                "w2WarmupMillis", sizes.w2WarmupMillis(), "w2Tasks", sizes.w2Tasks(), "w3Tasks", sizes.w3Tasks(),
                "spawnTasks", sizes.spawnTasks(), "memWorkers", sizes.memWorkers(), "shaRoundsPerTask", shaRounds));
        json.put("loadAverageStart", loadAtStart);
        json.put("loadAverageEnd", loadAtEnd);
        List<Object> metrics = new ArrayList<>();
        for (Results.Metric metric : results.metrics()) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("workload", TABLE_NAMES.getOrDefault(metric.workload, metric.workload));
            m.put("key", metric.key);
            m.put("label", metric.label);
            m.put("unit", metric.unit);
            m.put("values", jsonNumbers(metric.values));
            m.put("median", jsonNumber(metric.median()));
            m.put("min", jsonNumber(Stats.min(metric.values)));
            m.put("max", jsonNumber(Stats.max(metric.values)));
            metrics.add(m);
        }
        json.put("metrics", metrics);
        List<Object> ratios = new ArrayList<>();
        for (Results.Ratio ratio : results.ratios()) {
            double[] values = results.values(ratio);
            Map<String, Object> r = new LinkedHashMap<>();
            r.put("workload", ratio.workload());
            r.put("label", ratio.label());
            r.put("numerator", ratio.numerator());
            r.put("denominator", ratio.denominator());
            r.put("values", jsonNumbers(values));
            r.put("median", jsonNumber(Stats.median(values)));
            r.put("min", jsonNumber(Stats.min(values)));
            r.put("max", jsonNumber(Stats.max(values)));
            if (ratio.target() != null) {
                r.put("target", ratio.target().text());
                r.put("met", ratio.target().met(Stats.median(values)));
            }
            ratios.add(r);
        }
        json.put("ratios", ratios);
        List<Object> targets = new ArrayList<>();
        for (Results.Target target : results.targets()) {
            double figure = figure(target.metric());
            Map<String, Object> t = new LinkedHashMap<>();
            t.put("label", target.label());
            t.put("figure", target.metric());
            t.put("median", jsonNumber(figure));
            t.put("target", target.bound().text());
            t.put("met", Double.isFinite(figure) ? target.bound().met(figure) : null);
            targets.add(t);
        }
        json.put("targets", targets);
        json.put("notes", results.notes());
        Path parent = options.out().toAbsolutePath().getParent();
        if (parent != null) {
            Files.createDirectories(parent);
        }
        new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValue(options.out().toFile(), json);
    }

    private static Double jsonNumber(double value) {
        return Double.isFinite(value) ? value : null;
    }

    private static List<Double> jsonNumbers(double[] values) {
        return Arrays.stream(values).mapToObj(BenchmarkHarness::jsonNumber).toList();
    }
}
