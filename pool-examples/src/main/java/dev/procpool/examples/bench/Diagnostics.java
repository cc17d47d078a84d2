package dev.procpool.examples.bench;

import dev.procpool.PoolConfig;
import dev.procpool.TaskHandle;
import dev.procpool.TaskRequest;
import dev.procpool.TaskResult;
import dev.procpool.WorkerGroup;
import dev.procpool.WorkerPool;
import dev.procpool.WorkerSnapshot;
import dev.procpool.WorkerSpec;

import java.io.InputStream;
import java.io.OutputStream;
import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import static dev.procpool.examples.bench.BenchContext.check;
import static dev.procpool.examples.bench.BenchContext.rawRoundTrip;
import static dev.procpool.examples.bench.BenchContext.stopRawPipeWorker;
import static dev.procpool.examples.bench.BenchContext.warmUp;

/**
 * The project's own diagnostic workloads D1–D3, which split the pool's cost where the peer workloads only time it.
 * They are not the peers' workloads (those are W1–W5, {@link PeerWorkloads}); their sizes and warm-ups are the
 * project's own.
 *
 * <ul>
 *   <li><b>D1 latency</b>: one warm Java worker, sequential round trips of a 100-character task and reply: p50,
 *       p99, tasks/s, the pool's own split of a round trip, CPU and context switches of host and worker. Baselines:
 *       a raw pipe ping-pong with a second JVM (fixed 100-byte frames, no JSON, the floor for one round trip) and an
 *       in-process {@link ExecutorService} (no isolation, the ceiling). A pool with in-process workers (engine and
 *       JSON, no pipes) splits the pool's cost.</li>
 *   <li><b>D2 throughput</b>: two workers, tiny tasks (small numbers) submitted as fast as {@code submitTask}
 *       returns, after a warm-up of several seconds: tasks/s and CPU time per task in the host and in the workers,
 *       with the default group, with prefetch 32, and in process. Baseline: an ExecutorService with two
 *       threads.</li>
 *   <li><b>D3 CPU-bound</b>: two workers, tasks of about 1 ms of SHA-256 over 4 KiB (calibrated in this process):
 *       total time against the ideal n × cost / 2, from cold workers and again once they are warm, the time in the
 *       handler against dispatch to answer, and with prefetch 1.</li>
 * </ul>
 */
final class Diagnostics {
    private final BenchContext ctx;
    private final BenchOptions.Sizes sizes;
    private final Results results;
    private final String payload;
    private final com.sun.management.OperatingSystemMXBean os =
            (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
    /** SHA-256 rounds per D3 task, calibrated once so every run does the same work. */
    private int shaRounds;
    private String shaExpected;

    Diagnostics(BenchContext ctx) {
        this.ctx = ctx;
        this.sizes = ctx.sizes;
        this.results = ctx.results;
        this.payload = ctx.payload;
    }

    // ------------------------------------------------------------------ D1

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

    void d1Latency(int run) throws Exception {
        try (WorkerPool pool = ctx.pool("bench-w1", 1, ctx.javaSpec()).start()) {
            latency(run, "d1.pool", "pool, 1 Java worker", pool, true);
        }
        try (WorkerPool pool = ctx.pool("bench-w1-inproc", 1, WorkerSpec.inProcess(BenchHandler.class)).start()) {
            latency(run, "d1.inproc", "pool, 1 in-process worker (no pipes; diagnostic)", pool, false);
        }
        rawPipeLatency(run);
        executorLatency(run);
    }

    private void latency(int run, String key, String who, WorkerPool pool, boolean processWorker)
            throws Exception {
        warmUp(sizes.d1Warmup(), sizes.d1WarmupMillis(), () -> pool.submitTask(BenchHandler.ECHO, payload).join());
        long workerPid = pool.workers().get(0).pid();
        CpuProbe probe = new CpuProbe(workerPid);
        int n = sizes.d1RoundTrips();
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
        results.put(run, "D1", key + ".p50", who + ": round trip p50", "µs",
                Stats.micros(Stats.percentile(latencies, 0.50)));
        results.put(run, "D1", key + ".p99", who + ": round trip p99", "µs",
                Stats.micros(Stats.percentile(latencies, 0.99)));
        results.put(run, "D1", key + ".rate", who + ": sequential tasks/s", "tasks/s", n / (elapsed / 1e9));
        results.put(run, "D1", key + ".mean", who + ": round trip mean", "µs", Stats.micros(mean));
        if (processWorker) {
            // Where the time goes: the pool's own clock from dispatch to the answer (pipe both ways + worker),
            // and the rest (submit: JSON of the payload, the lock, the queue; completion: waking the caller).
            results.put(run, "D1", key + ".dispatchToAnswer", who + ": of which dispatch to answer (mean)", "µs",
                    Stats.micros((double) runNanos / n));
            results.put(run, "D1", key + ".outside", who + ": of which submit + queue + wake caller (mean)", "µs",
                    Stats.micros(mean - (double) runNanos / n));
            results.put(run, "D1", key + ".queue", who + ": of which queue wait (mean)", "µs",
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
                results.put(run, "D1", key + ".hostCpu", who + ": host CPU per round trip (user + kernel)", "µs",
                        Stats.micros((double) (hostCpu[0] + hostCpu[1] - hostCpu0[0] - hostCpu0[1]) / n));
                results.put(run, "D1", key + ".hostSys", who + ": of which kernel", "µs",
                        Stats.micros((double) (hostCpu[1] - hostCpu0[1]) / n));
            }
            if (workerCpu0 != null && workerCpu != null) {
                results.put(run, "D1", key + ".workerCpu", who + ": worker CPU per round trip (user + kernel)", "µs",
                        Stats.micros((double) (workerCpu[0] + workerCpu[1] - workerCpu0[0] - workerCpu0[1]) / n));
                results.put(run, "D1", key + ".workerSys", who + ": of which kernel", "µs",
                        Stats.micros((double) (workerCpu[1] - workerCpu0[1]) / n));
            }
            if (hostSwitches0 >= 0 && hostSwitches >= 0 && workerSwitches0 >= 0 && workerSwitches >= 0) {
                // the host's count includes this harness's other threads, which are idle meanwhile
                results.put(run, "D1", key + ".switches", who + ": context switches per round trip (host + worker)",
                        "switches", (double) (hostSwitches - hostSwitches0 + workerSwitches - workerSwitches0) / n);
            }
        }
    }

    private void rawPipeLatency(int run) throws Exception {
        Process process = ctx.startRawPipeWorker();
        try {
            OutputStream toWorker = process.getOutputStream();
            InputStream fromWorker = process.getInputStream();
            byte[] frame = ctx.rawFrame();
            byte[] reply = new byte[RawPipeWorker.FRAME_BYTES];
            warmUp(sizes.d1Warmup(), sizes.d1WarmupMillis(),
                    () -> rawRoundTrip(toWorker, fromWorker, frame, reply));
            int n = sizes.d1RoundTrips();
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
            results.put(run, "D1", "d1.raw.p50", who + ": round trip p50", "µs",
                    Stats.micros(Stats.percentile(latencies, 0.50)));
            results.put(run, "D1", "d1.raw.p99", who + ": round trip p99", "µs",
                    Stats.micros(Stats.percentile(latencies, 0.99)));
            results.put(run, "D1", "d1.raw.rate", who + ": sequential round trips/s", "tasks/s",
                    n / (elapsed / 1e9));
            probe.record(run, "d1.raw", who, n);
        } finally {
            stopRawPipeWorker(process);
        }
    }

    private void executorLatency(int run) throws Exception {
        ExecutorService executor = Executors.newFixedThreadPool(2);
        try {
            warmUp(sizes.d1Warmup(), sizes.d1WarmupMillis(), () -> executor.submit(() -> echo(payload)).get());
            int n = sizes.d1RoundTrips();
            long[] latencies = new long[n];
            for (int i = 0; i < n; i++) {
                long t0 = System.nanoTime();
                executor.submit(() -> echo(payload)).get();
                latencies[i] = System.nanoTime() - t0;
            }
            Arrays.sort(latencies);
            results.put(run, "D1", "d1.exec.p50", "ExecutorService, 2 threads (ceiling): round trip p50", "µs",
                    Stats.micros(Stats.percentile(latencies, 0.50)));
        } finally {
            executor.shutdownNow();
        }
    }

    /** The in-process baselines' task: what {@link BenchHandler} does for {@code echo}, without JSON. */
    private static Object echo(Object value) {
        return value;
    }

    // ------------------------------------------------------------------ D2

    void d2Throughput(int run) throws Exception {
        int n = sizes.d2Tasks();
        try (WorkerPool pool = ctx.pool("bench-w2", 2, ctx.javaSpec()).queueCapacity(Math.max(100_000, n + 1)).start()) {
            throughput(run, "d2.pool", "pool, 2 Java workers", pool, true);
        }
        // Pipelined: 32 tasks sent ahead to each worker (WorkerGroup.prefetch), so workers never wait for the host.
        WorkerGroup pipelined = WorkerGroup.builder(PoolConfig.DEFAULT_GROUP, ctx.javaSpec()).workers(2)
                .prefetch(32).build();
        try (WorkerPool pool = ctx.pool("bench-w2-pipelined", pipelined).queueCapacity(Math.max(100_000, n + 1))
                .start()) {
            throughput(run, "d2.pipelined", "pool, 2 Java workers, prefetch 32", pool, true);
        }
        try (WorkerPool pool = ctx.pool("bench-w2-inproc", 2, WorkerSpec.inProcess(BenchHandler.class))
                .queueCapacity(Math.max(100_000, n + 1)).start()) {
            throughput(run, "d2.inproc", "pool, 2 in-process workers (no pipes; diagnostic)", pool, false);
        }
        executorThroughput(run);
    }

    private void throughput(int run, String key, String who, WorkerPool pool, boolean processWorkers)
            throws Exception {
        warmUp(1, sizes.d2WarmupMillis(), () -> tinyBatch(pool, sizes.d2Warmup()));
        List<Long> pids = pool.workers().stream().map(WorkerSnapshot::pid).toList();
        long workerCpu0 = processWorkers ? workersCpu(pids) : -1;
        long hostCpu0 = os.getProcessCpuTime();
        int n = sizes.d2Tasks();
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
        results.put(run, "D2", key + ".rate", who + ": tasks/s", "tasks/s", n / (elapsed / 1e9));
        results.put(run, "D2", key + ".submitRate", who + ": submitTask calls/s", "tasks/s",
                n / ((submitted - start) / 1e9));
        results.put(run, "D2", key + ".hostCpu", who + ": host CPU per task", "µs", Stats.micros((double) hostCpu / n));
        if (processWorkers && workerCpu0 >= 0) {
            results.put(run, "D2", key + ".workerCpu", who + ": worker CPU per task (both)", "µs",
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
            warmUp(1, sizes.d2WarmupMillis(), () -> executorBatch(executor, sizes.d2Warmup()));
            int n = sizes.d2Tasks();
            long hostCpu0 = os.getProcessCpuTime();
            long start = System.nanoTime();
            executorBatch(executor, n);
            long elapsed = System.nanoTime() - start;
            long hostCpu = os.getProcessCpuTime() - hostCpu0;
            String who = "ExecutorService, 2 threads (ceiling)";
            results.put(run, "D2", "d2.exec.rate", who + ": tasks/s", "tasks/s", n / (elapsed / 1e9));
            results.put(run, "D2", "d2.exec.hostCpu", who + ": host CPU per task", "µs",
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

    // ------------------------------------------------------------------ D3

    void d3CpuBound(int run) throws Exception {
        double cost = calibrate();
        int n = sizes.d3Tasks();
        double ideal = n * cost / 2;
        results.put(run, "D3", "d3.cost", "task cost, calibrated in process (" + shaRounds + " × SHA-256 of "
                + BenchHandler.BUFFER_BYTES / 1024 + " KiB)", "ms", Stats.millis(cost));
        results.put(run, "D3", "d3.ideal", n + " tasks: ideal n × cost / 2", "s", ideal / 1e9);
        try (WorkerPool pool = ctx.pool("bench-w3", 2, ctx.javaSpec()).start()) {
            results.put(run, "D3", "d3.pool.cold", "pool, 2 Java workers, cold: total", "s", shaBatch(pool, n) / 1e9);
            double[] split = new double[2];
            results.put(run, "D3", "d3.pool.warm", "pool, 2 Java workers, warm: total", "s",
                    shaBatch(pool, n, split) / 1e9);
            // Where the time goes: hashing in the handler, against dispatch to answer as the pool measures it
            // (the difference is the pipes, the hand-offs between threads and their wake-ups).
            results.put(run, "D3", "d3.pool.warm.handler", "pool, warm: time in the handler per task (mean)", "ms",
                    Stats.millis(split[1]));
            results.put(run, "D3", "d3.pool.warm.run", "pool, warm: dispatch to answer per task (mean)", "ms",
                    Stats.millis(split[0]));
        }
        // The same with the next task sent ahead (WorkerGroup.prefetch 1): a worker never idles between tasks.
        WorkerGroup ahead = WorkerGroup.builder(PoolConfig.DEFAULT_GROUP, ctx.javaSpec()).workers(2).prefetch(1).build();
        try (WorkerPool pool = ctx.pool("bench-w3-prefetch", ahead).start()) {
            shaBatch(pool, n); // cold run, not reported
            results.put(run, "D3", "d3.prefetch.warm", "pool, 2 Java workers, prefetch 1, warm: total", "s",
                    shaBatch(pool, n) / 1e9);
        }
        ExecutorService executor = Executors.newFixedThreadPool(2);
        try {
            executorShaBatch(executor, n); // warm-up
            results.put(run, "D3", "d3.exec.warm", "ExecutorService, 2 threads, warm: total", "s",
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
        return medianCost(shaRounds, ctx.options.quick() ? 21 : 101);
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
}
