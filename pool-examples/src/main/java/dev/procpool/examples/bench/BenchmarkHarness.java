package dev.procpool.examples.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;

import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Stream;

/**
 * The procpool benchmark: procpool, its baselines and its peers on the same work, in one run.
 *
 * <p><b>Peer workloads</b> (W1–W5, {@link PeerWorkloads}), exactly as issue 15 defines them, each on every system
 * side by side: procpool through its public API with default settings; "the sketch", a minimal JSON-lines pool of
 * our own ({@link SketchPool}); jest-worker on Node.js and Python's {@code multiprocessing.Pool} (through driver
 * programs, when {@code node}/{@code npm} and {@code python3} are on the PATH; otherwise their columns say
 * "absent"); and the floors where one exists (W1 a raw pipe, W4 a bare JVM).
 * <ul>
 *   <li>W1: echo round trip, 1 worker, 30,000 warm-up then 50,000 sequential {@code submitTask(…).join()}.</li>
 *   <li>W2: 2 workers, 20,000 warm-up then 200,000 echo tasks all submitted before any is awaited.</li>
 *   <li>W3: 2 workers, SHA-256 over 64 KiB 22 times per task; 200 warm-up then 2,000 together; total ÷
 *       (2,000 × the median in-process cost ÷ 2).</li>
 *   <li>W4: a new pool of 2 until the first echo result, median of 7.</li>
 *   <li>W5: SIGKILL the idle worker of a warm 1-worker pool (then with a hot spare), from the kill to an answer
 *       from another pid, median of 5.</li>
 * </ul>
 *
 * <p><b>Diagnostics</b> (D1–D5, MEM, SPAWN; {@link Diagnostics}, {@link DiagnosticsLifecycle}): the project's
 * own workloads that split the pool's cost (pool against raw pipe and ExecutorService, in-process workers,
 * prefetch, cold-start variants, memory, one JVM per task). Their sizes are the project's own, so their figures
 * are not comparable with the peers'.
 *
 * <p>Each workload runs {@code --runs} rounds (3 by default), interleaved: round 1 of every workload and system,
 * then round 2, and so on, so that a burst of load from elsewhere on the machine does not land on one system's every
 * sample. The tables show the median and min–max over the rounds; every ratio is taken within a round.
 *
 * <pre>
 * mvn -B -q install -DskipTests
 * mvn -B -q -pl pool-examples exec:exec -Dexample.main=dev.procpool.examples.bench.BenchmarkHarness \
 *     -Dexample.args="--runs 3 --out target/bench.json"
 * </pre>
 *
 * <p>Every worker and baseline JVM runs a private copy of the classpath made at start (directories packed as
 * jars): other builds on the machine may clean {@code target/} or reinstall jars mid-run, and a deployed
 * application runs from jars too (which lets class-data sharing apply). The pools keep their class-data-sharing
 * archives in this run's temporary directory, so that every run starts alike; jest-worker is installed there too.
 *
 * <p>Options: {@code --runs N}, {@code --quick} (small counts, a smoke test), {@code --only W1,…,W5,D1,…,D5,MEM,SPAWN}
 * (or {@code peers}, {@code diagnostics}), {@code --systems procpool,sketch,jest-worker,python}, {@code --out FILE}
 * (the results as JSON too), {@code --jvm-options "…"} (extra options for every Java worker and baseline JVM),
 * {@code --jest-worker-version X.Y.Z}.
 */
public final class BenchmarkHarness {
    /** The workload column of the diagnostics table. */
    private static final Map<String, String> TABLE_NAMES = Map.of("MEM", "Memory", "SPAWN", "Spawn");

    private final BenchOptions options;
    private final PrintStream out;
    private final Results results;

    private BenchmarkHarness(BenchOptions options, PrintStream out) {
        this.options = options;
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
        BenchOptions options;
        try {
            options = BenchOptions.parse(args);
        } catch (IllegalArgumentException e) {
            out.println(e.getMessage());
            out.println(BenchOptions.USAGE);
            return 2;
        }
        // Quiet logs: a killed worker (W5, D5) is logged at WARN with its output tail, which is expected here.
        for (String logger : List.of("org.slf4j.simpleLogger.defaultLogLevel", "org.slf4j.simpleLogger.log.dev.procpool")) {
            if (System.getProperty(logger) == null) {
                System.setProperty(logger, "error");
            }
        }
        return new BenchmarkHarness(options, out).execute(args);
    }

    // ------------------------------------------------------------------ the run

    private int execute(String[] args) {
        String loadAtStart = Procs.loadAverage();
        Map<String, Object> machine = Procs.machine();
        out.println("procpool benchmark: " + options.runs() + " round(s)" + (options.quick() ? ", quick sizes" : "")
                + ", workloads " + String.join(",", options.only()) + ", systems "
                + String.join(",", options.systems()));
        out.println("# machine: " + machine);
        out.println("# load average at start: " + loadAtStart);
        boolean failed = false;
        long started = System.nanoTime();
        Path tempDir = null;
        ExternalPeers external = null;
        try {
            tempDir = Files.createTempDirectory("procpool-bench");
            BenchContext ctx = new BenchContext(options, out, results, tempDir);
            boolean peers = options.only().stream().anyMatch(BenchOptions.PEER_WORKLOADS::contains);
            if (peers) {
                external = ExternalPeers.prepare(tempDir, options.systems().contains(PeerSystem.JEST),
                        options.systems().contains(PeerSystem.PYTHON), options.jestWorkerVersion(),
                        Duration.ofMinutes(5));
                external.peers().values().forEach(p -> out.println("# " + p.system() + ": "
                        + (p.present() ? p.version() + " (" + String.join(" ", p.command()) + ")" : p.absentWhy())));
            }
            PeerWorkloads peerWorkloads = new PeerWorkloads(ctx, external);
            Diagnostics diagnostics = new Diagnostics(ctx);
            DiagnosticsLifecycle lifecycle = new DiagnosticsLifecycle(ctx);
            ctx.prime(ctx.javaSpec());
            for (int run = 0; run < options.runs(); run++) {
                for (String workload : options.only()) {
                    long t0 = System.nanoTime();
                    out.printf(Locale.ROOT, "# round %d/%d %s ...%n", run + 1, options.runs(), workload);
                    try {
                        switch (workload) {
                            case "W1", "W2", "W3", "W4", "W5" -> failed |= !peerWorkloads.run(workload, run);
                            case "D1" -> diagnostics.d1Latency(run);
                            case "D2" -> diagnostics.d2Throughput(run);
                            case "D3" -> diagnostics.d3CpuBound(run);
                            case "D4" -> lifecycle.d4ColdStart(run);
                            case "D5" -> lifecycle.d5Recovery(run);
                            case "MEM" -> lifecycle.memory(run);
                            case "SPAWN" -> lifecycle.spawnPerTask(run);
                            default -> throw new IllegalArgumentException(workload);
                        }
                        out.printf(Locale.ROOT, "# round %d/%d %s done in %.1f s (load %s)%n", run + 1,
                                options.runs(), workload, (System.nanoTime() - t0) / 1e9, Procs.loadAverage());
                    } catch (Exception | AssertionError e) {
                        failed = true;
                        if (e instanceof InterruptedException) {
                            Thread.currentThread().interrupt();
                        }
                        out.println("# " + workload + " failed in round " + (run + 1) + ": " + e);
                        e.printStackTrace(out);
                        results.note("error." + workload + ".run" + (run + 1), e.toString());
                    }
                }
            }
        } catch (IOException e) {
            out.println("# cannot lay out the run's temporary directory: " + e);
            return 1;
        } finally {
            deleteRecursively(tempDir);
        }
        String loadAtEnd = Procs.loadAverage();
        defineDiagnosticRatios();
        PeerReport.defineRatiosAndGoals(results, options.only(), options.systems());
        printTables(loadAtStart, loadAtEnd, (System.nanoTime() - started) / 1e9);
        if (options.out() != null) {
            try {
                writeJson(args, machine, loadAtStart, loadAtEnd, external);
                out.println("# results written to " + options.out().toAbsolutePath());
            } catch (IOException e) {
                out.println("# cannot write " + options.out() + ": " + e);
                failed = true;
            }
        }
        return failed ? 1 : 0;
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

    private void defineDiagnosticRatios() {
        results.ratio("D1", "pool p50 / raw pipe p50", "d1.pool.p50", "d1.raw.p50", "× raw pipe p50", null);
        results.ratio("D1", "pool p99 / raw pipe p99", "d1.pool.p99", "d1.raw.p99", "× raw pipe p99", null);
        results.ratio("D1", "in-process-worker pool p50 / raw pipe p50", "d1.inproc.p50", "d1.raw.p50",
                "× raw pipe p50", null);
        results.ratio("D2", "pool tasks/s / ExecutorService tasks/s", "d2.pool.rate", "d2.exec.rate",
                "× ExecutorService", null);
        results.ratio("D2", "pool host CPU per task / ExecutorService's", "d2.pool.hostCpu", "d2.exec.hostCpu",
                "× ExecutorService", null);
        results.ratio("D3", "pool cold total / ideal", "d3.pool.cold", "d3.ideal", "× ideal", null);
        results.ratio("D3", "pool (prefetch 1) warm total / ideal", "d3.prefetch.warm", "d3.ideal", "× ideal", null);
        results.ratio("D3", "pool warm total / ideal", "d3.pool.warm", "d3.ideal", "× ideal", null);
        results.ratio("D3", "ExecutorService warm total / ideal", "d3.exec.warm", "d3.ideal", "× ideal", null);
        results.ratio("D4", "no tuning / pool defaults", "d4.none", "d4.defaults", "× pool defaults", null);
        results.ratio("D4", "host classpath (no AppCDS) / pool defaults", "d4.hostcp", "d4.defaults",
                "× pool defaults", null);
        results.ratio("D4", "classDataSharing(false) / pool defaults", "d4.noappcds", "d4.defaults",
                "× pool defaults", null);
        results.ratio("D4", "defaults + C1 only / pool defaults", "d4.c1", "d4.defaults", "× pool defaults", null);
        results.ratio("D4", "pool defaults / bare JVM floor", "d4.defaults", "d4.floor", "× bare JVM", null);
        results.ratio("Spawn", "one JVM per task / pool round trip (D1 mean)", "spawn.mean", "d1.pool.mean",
                1000.0, "× pool per task (D1 mean)", null); // ms / µs
    }

    /** The median of a metric, of a ratio named "ratio:num/den", or the largest value of "max:key". */
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
        if (key.startsWith("max:")) {
            Results.Metric metric = results.metric(key.substring("max:".length()));
            return metric == null ? Double.NaN : Stats.max(metric.values);
        }
        Results.Metric metric = results.metric(key);
        return metric == null ? Double.NaN : metric.median();
    }

    private List<String[]> goals() {
        List<String[]> goals = new ArrayList<>();
        for (Results.Target target : results.targets()) {
            double figure = figure(target.metric());
            goals.add(new String[] {target.label(), Stats.format(figure), target.bound().text(),
                    Double.isFinite(figure) ? (target.bound().met(figure) ? "yes" : "no") : "not measured"});
        }
        return goals;
    }

    private void printTables(String loadAtStart, String loadAtEnd, double seconds) {
        out.println();
        out.printf(Locale.ROOT, "procpool benchmark results: median [min–max] over %d round(s); %.0f s in all; "
                + "load average %s at start, %s at end%n", options.runs(), seconds, loadAtStart, loadAtEnd);
        PeerReport.print(out, results, options);
        PeerReport.printGoals(out, goals());

        List<Results.Metric> diagnostics = results.metrics().stream()
                .filter(m -> !PeerReport.FIGURES.containsKey(m.workload)).toList();
        if (!diagnostics.isEmpty()) {
            out.println();
            out.println("Diagnostics (the project's own workloads and sizes; not comparable with the peers')");
            int labelWidth = diagnostics.stream().mapToInt(m -> m.label.length()).max().orElse(10);
            String format = "%-8s  %-" + labelWidth + "s  %-8s  %12s  %-25s  %s%n";
            out.printf(Locale.ROOT, format, "workload", "metric", "unit", "median", "min–max",
                    "ratio (median of runs)");
            Map<String, String> ratioText = new LinkedHashMap<>();
            for (Results.Ratio ratio : results.ratios()) {
                double median = Stats.median(results.values(ratio));
                if (Double.isFinite(median) && ratio.target() == null && !ratio.label().startsWith("procpool ÷")) {
                    ratioText.putIfAbsent(ratio.numerator(), Stats.format(median) + ratio.shortName());
                }
            }
            for (Results.Metric metric : diagnostics) {
                out.printf(Locale.ROOT, format, TABLE_NAMES.getOrDefault(metric.workload, metric.workload),
                        metric.label, metric.unit, Stats.format(metric.median()), Stats.range(metric.values),
                        ratioText.getOrDefault(metric.key, ""));
            }
            out.println();
            out.printf(Locale.ROOT, "%-8s  %-52s  %10s  %-25s%n", "ratios", "(round by round)", "median", "min–max");
            for (Results.Ratio ratio : results.ratios()) {
                double[] values = results.values(ratio);
                if (PeerReport.FIGURES.containsKey(ratio.workload()) || Stats.finite(values).length == 0) {
                    continue; // in the peer tables, or not run
                }
                out.printf(Locale.ROOT, "%-8s  %-52s  %10s  %-25s%n", ratio.workload(), ratio.label(),
                        Stats.format(Stats.median(values)), Stats.range(values));
            }
        }
        if (!results.notes().isEmpty()) {
            out.println();
            results.notes().forEach((key, text) -> out.println("# " + key + ": " + text));
        }
    }

    private void writeJson(String[] args, Map<String, Object> machine, String loadAtStart, String loadAtEnd,
                           ExternalPeers external) throws IOException {
        BenchOptions.Sizes sizes = options.sizes();
        Map<String, Object> json = new LinkedHashMap<>();
        json.put("machine", machine);
        json.put("arguments", List.of(args));
        json.put("runs", options.runs());
        json.put("quick", options.quick());
        json.put("sizes", sizes);
        json.put("loadAverageStart", loadAtStart);
        json.put("loadAverageEnd", loadAtEnd);
        Map<String, Object> systems = new LinkedHashMap<>();
        for (String system : options.systems()) {
            Map<String, Object> s = new LinkedHashMap<>();
            s.put("label", PeerSystem.label(system));
            ExternalPeers.Peer peer = external == null ? null : external.peer(system).orElse(null);
            if (PeerSystem.external(system)) {
                s.put("present", peer != null && peer.present());
                s.put("version", peer == null ? null : peer.version());
                s.put("absent", peer == null ? "not run" : peer.absentWhy());
            } else {
                s.put("present", true);
            }
            systems.put(system, s);
        }
        json.put("systems", systems);
        json.put("peerWorkloads", PeerReport.json(results, options));
        List<Object> metrics = new ArrayList<>();
        for (Results.Metric metric : results.metrics()) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("workload", TABLE_NAMES.getOrDefault(metric.workload, metric.workload));
            m.put("key", metric.key);
            m.put("label", metric.label);
            m.put("unit", metric.unit);
            m.putAll(summary(metric.values));
            metrics.add(m);
        }
        json.put("metrics", metrics);
        List<Object> ratios = new ArrayList<>();
        for (Results.Ratio ratio : results.ratios()) {
            Map<String, Object> r = new LinkedHashMap<>();
            r.put("workload", ratio.workload());
            r.put("label", ratio.label());
            r.put("numerator", ratio.numerator());
            r.put("denominator", ratio.denominator());
            r.putAll(summary(results.values(ratio)));
            ratios.add(r);
        }
        json.put("ratios", ratios);
        List<Object> targets = new ArrayList<>();
        for (Results.Target target : results.targets()) {
            double figure = figure(target.metric());
            Map<String, Object> t = new LinkedHashMap<>();
            t.put("label", target.label());
            t.put("figure", target.metric());
            t.put("value", jsonNumber(figure));
            t.put("target", target.bound().text());
            t.put("met", Double.isFinite(figure) ? target.bound().met(figure) : null);
            targets.add(t);
        }
        json.put("goals", targets);
        json.put("statuses", results.statuses());
        json.put("notes", results.notes());
        Path parent = options.out().toAbsolutePath().getParent();
        if (parent != null) {
            Files.createDirectories(parent);
        }
        new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValue(options.out().toFile(), json);
    }

    /** The values of every round (null where none), their median, min and max. */
    static Map<String, Object> summary(double[] values) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("values", Arrays.stream(values).mapToObj(BenchmarkHarness::jsonNumber).toList());
        m.put("median", jsonNumber(Stats.median(values)));
        m.put("min", jsonNumber(Stats.min(values)));
        m.put("max", jsonNumber(Stats.max(values)));
        return m;
    }

    private static Double jsonNumber(double value) {
        return Double.isFinite(value) ? value : null;
    }
}
