package dev.procpool.examples.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.procpool.PoolConfig;
import dev.procpool.RestartPolicy;
import dev.procpool.TaskResult;
import dev.procpool.WorkerGroup;
import dev.procpool.WorkerPool;
import dev.procpool.WorkerSnapshot;
import dev.procpool.WorkerSpec;
import dev.procpool.WorkerState;

import java.io.File;
import java.io.IOException;
import java.io.OutputStream;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

import static dev.procpool.examples.bench.BenchContext.check;
import static dev.procpool.examples.bench.BenchContext.concat;
import static dev.procpool.examples.bench.BenchContext.rawRoundTrip;
import static dev.procpool.examples.bench.BenchContext.stopRawPipeWorker;

/**
 * The project's own diagnostic workloads of starting and stopping, memory and the way without a pool. They are not
 * the peers' workloads (those are W1–W5, {@link PeerWorkloads}).
 *
 * <ul>
 *   <li><b>D4 cold start</b>: from building a one-worker pool to its first result: without the pool's start-up
 *       tuning, with its defaults (JVM options and its own AppCDS archive, made by an untimed first start), with
 *       parts of it taken away, with C1 only; a bare JVM's first raw-pipe reply is the floor.</li>
 *   <li><b>D5 recovery</b>: SIGKILL an idle worker; time until a task completes and until the pool is back to full
 *       size with a new ready worker; with one worker, also with a hot spare (the clock starts when {@code kill}
 *       returns).</li>
 *   <li><b>MEM</b>: RSS of an idle Java worker (and of a bare JVM), host heap per worker.</li>
 *   <li><b>SPAWN</b>: one JVM per task with ProcessBuilder, the way without a pool.</li>
 * </ul>
 */
final class DiagnosticsLifecycle {
    private final BenchContext ctx;
    private final BenchOptions.Sizes sizes;
    private final Results results;
    private final String payload;

    DiagnosticsLifecycle(BenchContext ctx) {
        this.ctx = ctx;
        this.sizes = ctx.sizes;
        this.results = ctx.results;
        this.payload = ctx.payload;
    }

    // ------------------------------------------------------------------ D4

    /** A way to start the one worker of D4; {@code cds} is the pool's class-data-sharing setting. */
    private record Variant(String key, String label, WorkerSpec.Java spec, boolean cds) {
    }

    void d4ColdStart(int run) throws Exception {
        List<String> c1 = List.of("-XX:TieredStopAtLevel=1");
        boolean hostHasDirectory = Arrays.stream(ctx.hostClasspath.split(File.pathSeparator))
                .anyMatch(entry -> Files.isDirectory(Path.of(entry)));
        List<Variant> variants = new ArrayList<>(List.of(
                new Variant("none", "no JVM options, no AppCDS (without the pool's tuning)",
                        ctx.javaSpec().withJvmOptions(ctx.options.jvmOptions()), false),
                new Variant("hostcp", "pool defaults, host classpath" + (hostHasDirectory
                        ? " (a directory on it: no AppCDS)" : ""),
                        WorkerSpec.java(BenchHandler.class).withExtraJvmOptions(ctx.options.jvmOptions()), true),
                new Variant("noappcds", "pool default JVM options, classDataSharing(false)", ctx.javaSpec(), false),
                new Variant("xshareoff", "pool default JVM options + -Xshare:off (no CDS at all)",
                        ctx.javaSpec().withExtraJvmOptions(List.of("-Xshare:off")), false),
                new Variant("defaults", "pool defaults (JVM options + the pool's AppCDS archive)", ctx.javaSpec(), true),
                new Variant("c1", "pool defaults + -XX:TieredStopAtLevel=1", ctx.javaSpec().withExtraJvmOptions(c1),
                        true)));
        for (Variant variant : variants) {
            if (variant.cds()) {
                ctx.prime(variant.spec()); // the archive exists before the timed start, as after a first start
            }
        }
        // Rotate the order from run to run, so no variant always follows the same one.
        java.util.Collections.rotate(variants, -run);
        for (Variant variant : variants) {
            long t0 = System.nanoTime();
            try (WorkerPool pool = ctx.pool("bench-w4", 1, variant.spec()).classDataSharing(variant.cds()).start()) {
                long ready = System.nanoTime();
                TaskResult first = pool.submitTask(BenchHandler.ECHO, payload).join();
                long done = System.nanoTime();
                results.put(run, "D4", "d4." + variant.key(), variant.label() + ": build to first result", "ms",
                        Stats.millis(done - t0));
                if (variant.key().equals("defaults")) {
                    results.put(run, "D4", "d4.defaults.ready", "pool defaults: of which start() until ready", "ms",
                            Stats.millis(ready - t0));
                }
                results.note("d4." + variant.key() + ".jvm", jvmFlags(Procs.commandLine(first.workerPid())));
            }
        }
        // The floor: a bare JVM's first raw-pipe reply, with the pool's default JVM options.
        long t0 = System.nanoTime();
        Process process = ctx.startRawPipeWorker();
        try {
            byte[] frame = payload.getBytes(StandardCharsets.US_ASCII);
            rawRoundTrip(process.getOutputStream(), process.getInputStream(), frame, new byte[frame.length]);
            results.put(run, "D4", "d4.floor", "bare JVM, first raw-pipe reply (floor)", "ms",
                    Stats.millis(System.nanoTime() - t0));
        } finally {
            stopRawPipeWorker(process);
        }
    }

    /** A worker's command line without its classpath, which is long and the same for all. */
    private static String jvmFlags(String commandLine) {
        return commandLine.replaceAll(" -cp \\S+", " -cp …");
    }

    // ------------------------------------------------------------------ D5

    void d5Recovery(int run) throws Exception {
        try (WorkerPool pool = ctx.pool("bench-w5", 2, ctx.javaSpec()).start()) {
            ctx.warm(pool, 200);
            long victim = BenchContext.awaitAllIdle(pool).get(0).pid();
            kill9(victim);
            long t0 = System.nanoTime();
            TaskResult result = pool.submitTask(BenchHandler.ECHO, payload).join();
            long anyTask = System.nanoTime() - t0;
            awaitFullSize(pool, 2, victim);
            long fullSize = System.nanoTime() - t0;
            results.put(run, "D5", "d5.two.anyTask", "2 workers, one killed: a task completes", "ms",
                    Stats.millis(anyTask));
            results.put(run, "D5", "d5.two.anyTask.attempts", "2 workers, one killed: attempts that task took",
                    "attempts", result.attempt());
            results.put(run, "D5", "d5.two.fullSize", "2 workers, one killed: back to 2 ready workers", "ms",
                    Stats.millis(fullSize));
        }
        replacementOnly(run, "d5.one", "1 worker killed: a task completes on its replacement",
                RestartPolicy.defaults(), 0);
        replacementOnly(run, "d5.one.nodelay", "same, restart initialDelay 0 (diagnostic)",
                RestartPolicy.builder().initialDelay(Duration.ZERO).build(), 0);
        replacementOnly(run, "d5.one.spare", "same, 1 hot spare (WorkerGroup.hotSpares)", RestartPolicy.defaults(), 1);
    }

    private void replacementOnly(int run, String key, String label, RestartPolicy restartPolicy, int spares)
            throws Exception {
        WorkerGroup group = WorkerGroup.builder(PoolConfig.DEFAULT_GROUP, ctx.javaSpec()).workers(1).hotSpares(spares)
                .build();
        try (WorkerPool pool = ctx.pool("bench-w5-one", group).restartPolicy(restartPolicy).start()) {
            ctx.warm(pool, 200);
            // the worker that served the tasks; a hot spare serves none
            long victim = BenchContext.awaitAllIdle(pool).stream().filter(w -> w.tasksServed() > 0).findFirst()
                    .orElseThrow(() -> new IllegalStateException("no worker served the warm-up")).pid();
            kill9(victim);
            long t0 = System.nanoTime();
            TaskResult result = pool.submitTask(BenchHandler.ECHO, payload).join();
            long elapsed = System.nanoTime() - t0;
            check(result.workerPid() != victim, "the task completed on the killed worker");
            results.put(run, "D5", key, label, "ms", Stats.millis(elapsed));
            // 2 attempts: the first was sent to the killed worker before the pool saw it die, and was retried
            results.put(run, "D5", key + ".attempts", label.replaceFirst(": .*", "") + ": attempts that task took",
                    "attempts", result.attempt());
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

    void memory(int run) throws Exception {
        int n = sizes.memWorkers();
        MemoryMXBean memory = ManagementFactory.getMemoryMXBean();
        settleHeap();
        long heapBefore = memory.getHeapMemoryUsage().getUsed();
        try (WorkerPool pool = ctx.pool("bench-mem", n, ctx.javaSpec()).start()) {
            settleHeap();
            long heapAfter = memory.getHeapMemoryUsage().getUsed();
            // a few KiB either way is what other garbage freed meanwhile: a pool takes no less than nothing
            results.put(run, "MEM", "mem.hostHeapPerWorker", "host heap per worker (pool of " + n + ", after GC)",
                    "KiB", Math.max(0, heapAfter - heapBefore) / (double) n / 1024);
            ctx.warm(pool, 50 * n);
            // idle for two heartbeats, so that every worker has reported its memory
            long interval = pool.config().heartbeatInterval().toMillis();
            Thread.sleep(2 * interval + 200);
            List<WorkerSnapshot> workers = BenchContext.awaitAllIdle(pool);
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
        Process process = ctx.startRawPipeWorker();
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

    void spawnPerTask(int run) throws Exception {
        ObjectMapper mapper = new ObjectMapper();
        String task = mapper.writeValueAsString(Map.of("taskType", BenchHandler.ECHO, "payload", payload));
        List<String> command = concat(List.of(ctx.javaBin), WorkerSpec.Java.DEFAULT_JVM_OPTIONS, ctx.options.jvmOptions(),
                List.of("-cp", ctx.snapshotClasspath, OneShotTask.class.getName(), task));
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
}
