package dev.procpool.examples.bench;

import com.fasterxml.jackson.databind.JsonNode;
import dev.procpool.PoolConfig;
import dev.procpool.WorkerGroup;
import dev.procpool.WorkerSpec;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * The peer workloads W1–W5, exactly as issue 15 defines them, on every system in one round: procpool through its
 * public API with its default settings, the sketch ({@link SketchPool}), jest-worker and Python's
 * {@code multiprocessing.Pool} (through {@link ExternalPeers}), and the floors where one exists (W1: a raw pipe;
 * W4: a bare JVM). The order of the systems turns from round to round, so that none always runs right after
 * another. Figures are recorded as {@code <workload>.<system>.<figure>}, with the names and units of
 * {@link PeerReport#FIGURES}.
 *
 * <p>Every system ends each workload by having every process it started gone: the harness checks each one by pid
 * and start time, kills what is left and notes it ({@code leftover.*}).
 */
final class PeerWorkloads {
    private final BenchContext ctx;
    private final Results results;
    private final BenchOptions.Sizes sizes;
    private final ExternalPeers external;
    private final com.sun.management.OperatingSystemMXBean os =
            (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
    private final String expectedDigest;
    private List<String> sketchCommand;

    PeerWorkloads(BenchContext ctx, ExternalPeers external) {
        this.ctx = ctx;
        this.results = ctx.results;
        this.sizes = ctx.sizes;
        this.external = external;
        this.expectedDigest = BenchHandler.sha64k(sizes.w3Rounds());
    }

    /**
     * Runs one workload on every chosen system and its floor. A system that fails is noted in its column and the
     * others still run.
     *
     * @return whether every system that ran completed the workload
     */
    boolean run(String workload, int run) {
        List<String> systems = new ArrayList<>(ctx.options.systems());
        if (workload.equals("W1")) {
            systems.add(PeerSystem.RAW_PIPE);
        } else if (workload.equals("W4")) {
            systems.add(PeerSystem.BARE_JVM);
        }
        Collections.rotate(systems, -run);
        boolean ok = true;
        for (String system : systems) {
            long t0 = System.nanoTime();
            try {
                if (PeerSystem.external(system)) {
                    ok &= external(workload, system, run);
                } else {
                    javaSystem(workload, system, run);
                }
            } catch (Exception | AssertionError e) {
                ok = false;
                if (e instanceof InterruptedException) {
                    Thread.currentThread().interrupt();
                }
                results.status(workload + "." + system, "failed: " + ExternalPeers.printable(e.toString(), 300));
                ctx.out.println("# " + workload + " on " + system + " failed in run " + (run + 1) + ": " + e);
                e.printStackTrace(ctx.out);
            }
            ctx.out.printf(java.util.Locale.ROOT, "#   %s %s: %.1f s%n", workload, system,
                    (System.nanoTime() - t0) / 1e9);
        }
        return ok;
    }

    private void javaSystem(String workload, String system, int run) throws Exception {
        if (system.equals(PeerSystem.RAW_PIPE)) {
            rawPipe(run);
            return;
        }
        if (system.equals(PeerSystem.BARE_JVM)) {
            bareJvm(run);
            return;
        }
        boolean procpool = system.equals(PeerSystem.PROCPOOL);
        Pools pools = procpool ? new ProcpoolPools() : new SketchPools();
        List<long[]> processes = new ArrayList<>();
        try {
            switch (workload) {
                case "W1" -> w1(run, system, pools, processes);
                case "W2" -> w2(run, system, pools, processes);
                case "W3" -> w3(run, system, pools, processes);
                case "W4" -> w4(run, system, pools, processes);
                case "W5" -> w5(run, system, pools, processes);
                default -> throw new IllegalArgumentException(workload);
            }
        } finally {
            noteLeftovers(workload, system, run, processes);
        }
    }

    // ------------------------------------------------------------------ the workloads on procpool and the sketch

    private void w1(int run, String system, Pools pools, List<long[]> processes) throws Exception {
        try (JavaPool<?> pool = pools.open(1, 0, 0)) {
            w1(run, system, pool);
            processes.addAll(pool.processes());
        }
    }

    private <H> void w1(int run, String system, JavaPool<H> pool) throws Exception {
        for (int i = 0; i < sizes.w1Warmup(); i++) {
            pool.join(pool.submit(BenchHandler.ECHO, ctx.payload));
        }
        List<Long> pids = pool.workerPids();
        long host0 = os.getProcessCpuTime();
        long worker0 = workersCpu(pids);
        int n = sizes.w1RoundTrips();
        long[] latencies = new long[n];
        Object last = null;
        for (int i = 0; i < n; i++) {
            long t0 = System.nanoTime();
            last = pool.join(pool.submit(BenchHandler.ECHO, ctx.payload));
            latencies[i] = System.nanoTime() - t0;
        }
        long host = os.getProcessCpuTime() - host0;
        long worker = workersCpu(pids) - worker0;
        BenchContext.check(ctx.payload.equals(pool.text(last)), "the echo came back changed: " + last);
        Arrays.sort(latencies);
        put(run, "W1", system, "p50", Stats.micros(Stats.percentile(latencies, 0.50)));
        put(run, "W1", system, "p99", Stats.micros(Stats.percentile(latencies, 0.99)));
        put(run, "W1", system, "hostCpu", Stats.micros((double) host / n));
        if (worker0 >= 0 && worker >= 0) {
            put(run, "W1", system, "workerCpu", Stats.micros((double) worker / n));
        }
    }

    private void w2(int run, String system, Pools pools, List<long[]> processes) throws Exception {
        // default settings apart from a queue capacity that holds every task at once
        try (JavaPool<?> pool = pools.open(2, 0, sizes.w2Tasks())) {
            w2(run, system, pool);
            processes.addAll(pool.processes());
        }
    }

    private <H> void w2(int run, String system, JavaPool<H> pool) throws Exception {
        batch(pool, BenchHandler.ECHO, ctx.payload, sizes.w2Warmup());
        List<Long> pids = pool.workerPids();
        long host0 = os.getProcessCpuTime();
        long worker0 = workersCpu(pids);
        int n = sizes.w2Tasks();
        long start = System.nanoTime();
        Object last = batch(pool, BenchHandler.ECHO, ctx.payload, n);
        long elapsed = System.nanoTime() - start;
        long host = os.getProcessCpuTime() - host0;
        long worker = workersCpu(pids) - worker0;
        BenchContext.check(ctx.payload.equals(pool.text(last)), "the echo came back changed: " + last);
        put(run, "W2", system, "rate", n / (elapsed / 1e9));
        put(run, "W2", system, "hostCpu", Stats.micros((double) host / n));
        if (worker0 >= 0 && worker >= 0) {
            put(run, "W2", system, "workerCpu", Stats.micros((double) worker / n));
        }
    }

    /** Submits n tasks, all before any is awaited, then awaits them all; returns the last task's value. */
    private static <H> Object batch(JavaPool<H> pool, String type, Object payload, int n) throws Exception {
        List<H> handles = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            handles.add(pool.submit(type, payload));
        }
        Object last = null;
        for (H handle : handles) {
            last = pool.join(handle);
        }
        return last;
    }

    private void w3(int run, String system, Pools pools, List<long[]> processes) throws Exception {
        double cost = inProcessCost();
        try (JavaPool<?> pool = pools.open(2, 0, 0)) {
            double total = w3(pool);
            processes.addAll(pool.processes());
            double ideal = sizes.w3Tasks() * cost / 2;
            put(run, "W3", system, "cost", Stats.millis(cost));
            put(run, "W3", system, "total", total / 1e9);
            put(run, "W3", system, "ideal", ideal / 1e9);
            put(run, "W3", system, "overIdeal", total / ideal);
        }
    }

    private <H> double w3(JavaPool<H> pool) throws Exception {
        batch(pool, BenchHandler.SHA_64K, sizes.w3Rounds(), sizes.w3Warmup());
        int n = sizes.w3Tasks();
        long start = System.nanoTime();
        List<H> handles = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            handles.add(pool.submit(BenchHandler.SHA_64K, sizes.w3Rounds()));
        }
        List<Object> answers = new ArrayList<>(n);
        for (H handle : handles) {
            answers.add(pool.join(handle));
        }
        long total = System.nanoTime() - start;
        for (Object answer : answers) {
            BenchContext.check(expectedDigest.equals(pool.text(answer)), "a worker computed another digest: "
                    + answer);
        }
        return total;
    }

    /** The median cost of one W3 task in this JVM, once SHA-256 is compiled: the ideal's unit. */
    private double inProcessCost() {
        long until = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(sizes.calibrationWarmupMillis());
        while (System.nanoTime() < until) {
            BenchHandler.sha64k(sizes.w3Rounds());
        }
        double[] costs = new double[sizes.w3CostSamples()];
        for (int i = 0; i < costs.length; i++) {
            long t0 = System.nanoTime();
            BenchHandler.sha64k(sizes.w3Rounds());
            costs[i] = System.nanoTime() - t0;
        }
        return Stats.median(costs);
    }

    private void w4(int run, String system, Pools pools, List<long[]> processes) throws Exception {
        pools.prime(); // a deployment's first start makes the class-data archive; later starts use it
        double[] first = new double[sizes.w4Starts()];
        double[] ready = new double[sizes.w4Starts()];
        for (int i = 0; i < first.length; i++) {
            long t0 = System.nanoTime();
            try (JavaPool<?> pool = pools.open(2, 0, 0)) {
                ready[i] = System.nanoTime() - t0;
                Object answer = firstEcho(pool);
                first[i] = System.nanoTime() - t0;
                BenchContext.check(ctx.payload.equals(pool.text(answer)), "the echo came back changed: " + answer);
                processes.addAll(pool.processes());
            }
        }
        put(run, "W4", system, "first", Stats.millis(Stats.median(first)));
        if (system.equals(PeerSystem.PROCPOOL)) {
            put(run, "W4", system, "ready", Stats.millis(Stats.median(ready)));
        }
    }

    private <H> Object firstEcho(JavaPool<H> pool) throws Exception {
        return pool.join(pool.submit(BenchHandler.ECHO, ctx.payload));
    }

    private void w5(int run, String system, Pools pools, List<long[]> processes) throws Exception {
        for (int spares = 0; spares <= 1; spares++) {
            String variant = spares == 0 ? "nospare" : "spare";
            List<Double> times = new ArrayList<>();
            List<Double> attempts = new ArrayList<>();
            int hung = 0;
            for (int kill = 0; kill < sizes.w5Kills(); kill++) {
                try (JavaPool<?> pool = pools.open(1, spares, 0)) {
                    double[] outcome = killAndRecover(pool);
                    processes.addAll(pool.processes());
                    if (outcome == null) {
                        hung++;
                    } else {
                        times.add(outcome[0]);
                        attempts.add(outcome[1]);
                    }
                }
            }
            put(run, "W5", system, variant + ".hung", hung);
            if (times.isEmpty()) {
                results.status("W5." + system + "." + variant + ".median", "hung: no answer within "
                        + sizes.w5HangMillis() + " ms after any of " + sizes.w5Kills() + " kills");
                continue;
            }
            double[] values = times.stream().mapToDouble(Double::doubleValue).toArray();
            put(run, "W5", system, variant + ".median", Stats.median(values));
            put(run, "W5", system, variant + ".max", Stats.max(values));
            put(run, "W5", system, variant + ".attempts",
                    Stats.median(attempts.stream().mapToDouble(Double::doubleValue).toArray()));
        }
    }

    /**
     * Warms the pool, lets it idle, SIGKILLs the worker that served the warm-up, waits until it is dead, submits a
     * task and times from the kill to its answer from another pid. Returns {milliseconds, attempts}, or null when
     * no answer came within the hang bound.
     */
    private <H> double[] killAndRecover(JavaPool<H> pool) throws Exception {
        batch(pool, BenchHandler.ECHO, ctx.payload, 200);
        pool.awaitIdle();
        Thread.sleep(100); // idle, as in the drivers
        long victim = pool.victim();
        long victimStart = Procs.startTicks(victim);
        ProcessHandle handle = ProcessHandle.of(victim).orElseThrow(() ->
                new IllegalStateException("worker " + victim + " is gone before the kill"));
        long t0 = System.nanoTime();
        handle.destroyForcibly(); // SIGKILL
        BenchContext.awaitDead(victim, victimStart);
        H task = pool.submitWhoAnswers();
        Object answer;
        try {
            answer = pool.join(task, Duration.ofMillis(sizes.w5HangMillis()));
        } catch (TimeoutException e) {
            return null;
        }
        double millis = Stats.millis(System.nanoTime() - t0);
        long answeredBy = pool.answeredBy(answer);
        BenchContext.check(answeredBy != victim, "the task was answered by the killed worker " + victim);
        return new double[] {millis, pool.attempts(answer)};
    }

    // ------------------------------------------------------------------ floors

    private void rawPipe(int run) throws Exception {
        Process process = ctx.startRawPipeWorker();
        List<long[]> processes = List.of(new long[] {process.pid(), Procs.startTicks(process.pid())});
        try {
            OutputStream toWorker = process.getOutputStream();
            InputStream fromWorker = process.getInputStream();
            byte[] frame = ctx.rawFrame();
            byte[] reply = new byte[frame.length];
            for (int i = 0; i < sizes.w1Warmup(); i++) {
                BenchContext.rawRoundTrip(toWorker, fromWorker, frame, reply);
            }
            long host0 = os.getProcessCpuTime();
            long worker0 = Procs.cpuNanos(process.pid());
            int n = sizes.w1RoundTrips();
            long[] latencies = new long[n];
            for (int i = 0; i < n; i++) {
                long t0 = System.nanoTime();
                BenchContext.rawRoundTrip(toWorker, fromWorker, frame, reply);
                latencies[i] = System.nanoTime() - t0;
            }
            long host = os.getProcessCpuTime() - host0;
            long worker = Procs.cpuNanos(process.pid()) - worker0;
            BenchContext.check(Arrays.equals(frame, reply), "the raw pipe echo came back changed");
            Arrays.sort(latencies);
            put(run, "W1", PeerSystem.RAW_PIPE, "p50", Stats.micros(Stats.percentile(latencies, 0.50)));
            put(run, "W1", PeerSystem.RAW_PIPE, "p99", Stats.micros(Stats.percentile(latencies, 0.99)));
            put(run, "W1", PeerSystem.RAW_PIPE, "hostCpu", Stats.micros((double) host / n));
            if (worker0 >= 0) {
                put(run, "W1", PeerSystem.RAW_PIPE, "workerCpu", Stats.micros((double) worker / n));
            }
        } finally {
            BenchContext.stopRawPipeWorker(process);
            noteLeftovers("W1", PeerSystem.RAW_PIPE, run, processes);
        }
    }

    /** W4's floor: a bare JVM with the pool's default options, from spawn to its first raw-pipe reply. */
    private void bareJvm(int run) throws Exception {
        double[] times = new double[sizes.w4Starts()];
        List<long[]> processes = new ArrayList<>();
        byte[] frame = ctx.rawFrame();
        for (int i = 0; i < times.length; i++) {
            long t0 = System.nanoTime();
            Process process = ctx.startRawPipeWorker();
            try {
                BenchContext.rawRoundTrip(process.getOutputStream(), process.getInputStream(), frame,
                        new byte[frame.length]);
                times[i] = System.nanoTime() - t0;
                processes.add(new long[] {process.pid(), Procs.startTicks(process.pid())});
            } finally {
                BenchContext.stopRawPipeWorker(process);
            }
        }
        put(run, "W4", PeerSystem.BARE_JVM, "first", Stats.millis(Stats.median(times)));
        noteLeftovers("W4", PeerSystem.BARE_JVM, run, processes);
    }

    // ------------------------------------------------------------------ jest-worker and Python

    private boolean external(String workload, String system, int run) throws InterruptedException {
        ExternalPeers.Peer peer = external == null ? null : external.peer(system).orElse(null);
        if (peer == null || !peer.present()) {
            results.status(workload + "." + system, peer == null ? "absent" : peer.absentWhy());
            return true;
        }
        Map<String, Object> params = new LinkedHashMap<>();
        params.put("workload", workload);
        params.put("payload", ctx.payload);
        params.put("clockTicks", Procs.clockTicksPerSecond());
        switch (workload) {
            case "W1" -> {
                params.put("warmup", sizes.w1Warmup());
                params.put("n", sizes.w1RoundTrips());
            }
            case "W2" -> {
                params.put("warmup", sizes.w2Warmup());
                params.put("n", sizes.w2Tasks());
            }
            case "W3" -> {
                params.put("warmup", sizes.w3Warmup());
                params.put("n", sizes.w3Tasks());
                params.put("shaRounds", sizes.w3Rounds());
                params.put("costSamples", sizes.w3CostSamples());
                params.put("costWarmupMillis", sizes.calibrationWarmupMillis());
                params.put("expectedDigest", expectedDigest);
            }
            case "W4" -> params.put("starts", sizes.w4Starts());
            case "W5" -> {
                params.put("kills", sizes.w5Kills());
                params.put("hangMillis", sizes.w5HangMillis());
            }
            default -> throw new IllegalArgumentException(workload);
        }
        Duration timeout = Duration.ofSeconds(ctx.options.quick() ? 180 : 900);
        ExternalPeers.Outcome outcome = external.run(peer, params, timeout);
        noteLeftovers(workload, system, run, outcome.processes());
        if (outcome.failure() != null) {
            results.status(workload + "." + system, outcome.failure());
            ctx.out.println("# " + workload + " on " + system + " " + outcome.failure());
            return false;
        }
        JsonNode answer = outcome.answer();
        results.replaceNote("version." + system, answer.path("version").asText() + ", "
                + answer.path("runtime").asText());
        answer.path("figures").fields().forEachRemaining(f -> {
            if (f.getValue().isNumber() && PeerReport.figure(workload, f.getKey()) != null) {
                put(run, workload, system, f.getKey(), f.getValue().asDouble());
            }
        });
        answer.path("statuses").fields().forEachRemaining(f -> results.status(workload + "." + system + "."
                + f.getKey(), ExternalPeers.printable(f.getValue().asText(), 200)));
        return true;
    }

    // ------------------------------------------------------------------ helpers

    private void put(int run, String workload, String system, String figure, double value) {
        PeerReport.Figure f = PeerReport.figure(workload, figure);
        BenchContext.check(f != null, "no figure " + workload + "." + figure);
        results.put(run, workload, workload + "." + system + "." + figure, PeerSystem.label(system) + ": "
                + f.label(), f.unit(), value);
    }

    private void noteLeftovers(String workload, String system, int run, List<long[]> processes) {
        List<Long> left = BenchContext.leftovers(processes);
        if (!left.isEmpty()) {
            results.note("leftover." + workload + "." + system + ".run" + (run + 1), "processes still running "
                    + "10 s after the workload, killed: " + left);
            ctx.out.println("# " + workload + " on " + system + " left processes behind: " + left);
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

    /** The command of a sketch worker, with its own AppCDS archive made on first use (as procpool makes its). */
    private List<String> sketchCommand() throws IOException {
        if (sketchCommand == null) {
            Path archive = ctx.tempDir.resolve("sketch.jsa");
            try (SketchPool pool = new SketchPool(sketchJvm("-XX:ArchiveClassesAtExit=" + archive), 1, 0)) {
                pool.submit(BenchHandler.ECHO, ctx.payload).join();
                pool.submit(BenchHandler.SHA_64K, 1).join();
                pool.submit(SketchWorker.PID, null).join();
            } // the archive is written as the worker exits, which close() waits for
            if (Files.isRegularFile(archive)) {
                sketchCommand = sketchJvm("-XX:SharedArchiveFile=" + archive);
                results.replaceNote("sketch.archive", "sketch.jsa (" + (Files.size(archive) >> 10) + " KiB)");
            } else {
                sketchCommand = sketchJvm();
                results.replaceNote("sketch.archive", "none: the JVM wrote no archive");
            }
        }
        return sketchCommand;
    }

    private List<String> sketchJvm(String... cds) {
        return BenchContext.concat(List.of(ctx.javaBin), WorkerSpec.Java.DEFAULT_JVM_OPTIONS,
                ctx.options.jvmOptions(), List.of(cds), List.of("-cp", ctx.snapshotClasspath,
                        SketchWorker.class.getName()));
    }

    // ------------------------------------------------------------------ procpool and the sketch, one shape

    /** Opens pools of one system. */
    private interface Pools {
        /** A started pool whose queue holds at least {@code queueCapacity} tasks (the default if it does). */
        JavaPool<?> open(int workers, int spares, int queueCapacity) throws IOException;

        /** Makes the class-data archive of later starts (untimed), as a deployment's first start would. */
        void prime() throws IOException;
    }

    private final class ProcpoolPools implements Pools {
        @Override
        public JavaPool<?> open(int workers, int spares, int queueCapacity) {
            WorkerGroup group = WorkerGroup.builder(PoolConfig.DEFAULT_GROUP, ctx.javaSpec()).workers(workers)
                    .hotSpares(spares).build();
            PoolConfig.Builder builder = ctx.pool("peer", group);
            if (builder.build().queueCapacity() < queueCapacity) {
                builder.queueCapacity(queueCapacity);
            }
            return new JavaPool.Procpool(builder.start());
        }

        @Override
        public void prime() {
            ctx.prime(ctx.javaSpec());
        }
    }

    private final class SketchPools implements Pools {
        @Override
        public JavaPool<?> open(int workers, int spares, int queueCapacity) throws IOException {
            return new JavaPool.Sketch(new SketchPool(sketchCommand(), workers, spares));
        }

        @Override
        public void prime() throws IOException {
            sketchCommand();
        }
    }
}
