package dev.procpool.examples.bench;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * The harness's command line, checked when parsed: every bad value is refused with a message that names it and
 * says what is allowed.
 *
 * @param runs          rounds; every workload and system runs once per round (interleaved)
 * @param quick         small counts, for a smoke test
 * @param only          the workloads to run, in the order they run within a round
 * @param systems       the systems of the peer workloads to run
 * @param out           where to write the results as JSON, or null
 * @param jvmOptions    extra options for every Java worker and baseline JVM
 * @param jestWorkerVersion the jest-worker version that npm installs for the run
 */
record BenchOptions(int runs, boolean quick, Set<String> only, Set<String> systems, Path out, List<String> jvmOptions,
                    String jestWorkerVersion) {

    /** The peer workloads, defined as issue 15 defines them (the workloads the peers publish figures for). */
    static final List<String> PEER_WORKLOADS = List.of("W1", "W2", "W3", "W4", "W5");
    /** The project's own diagnostic workloads: splits of the pool's cost, variants, memory, one JVM per task. */
    static final List<String> DIAGNOSTIC_WORKLOADS = List.of("D1", "D2", "D3", "D4", "D5", "MEM", "SPAWN");
    /** Every workload, in the order they run within a round. */
    static final List<String> WORKLOADS = List.of("W1", "W2", "W3", "W4", "W5", "D1", "D2", "D3", "D4", "D5", "MEM",
            "SPAWN");
    /** The systems of the peer workloads. */
    static final List<String> SYSTEMS = List.of(PeerSystem.PROCPOOL, PeerSystem.SKETCH, PeerSystem.JEST,
            PeerSystem.PYTHON);
    /** The jest-worker release the peer columns use unless told otherwise. */
    static final String JEST_WORKER_VERSION = "30.5.1";

    static final String USAGE = "usage: BenchmarkHarness [--runs N] [--quick] [--only W1,…,W5,D1,…,D5,MEM,SPAWN|peers|"
            + "diagnostics] [--systems procpool,sketch,jest-worker,python] [--out results.json] "
            + "[--jvm-options \"-Xfoo -Xbar\"] [--jest-worker-version X.Y.Z]";

    private static final Pattern VERSION = Pattern.compile("\\d{1,4}\\.\\d{1,4}\\.\\d{1,4}");

    /**
     * How many tasks and round trips each workload uses.
     *
     * <p>The peer workloads (W1–W5) use exactly the counts issue 15 gives. The diagnostics keep the project's own
     * longer warm-ups: the C2 compilers of the host and of the workers were still busy after 30,000 round trips or
     * 60,000 tiny tasks (seen with perf), so D2 warms up with batches of {@code d2Warmup} tasks until
     * {@code d2WarmupMillis} have passed, and D1 makes at least {@code d1Warmup} round trips and goes on until
     * {@code d1WarmupMillis} have passed.
     */
    record Sizes(int w1Warmup, int w1RoundTrips, int w2Warmup, int w2Tasks, int w3Warmup, int w3Tasks, int w3Rounds,
                 int w3CostSamples, int w4Starts, int w5Kills, long w5HangMillis,
                 int d1Warmup, long d1WarmupMillis, int d1RoundTrips, int d2Warmup, long d2WarmupMillis,
                 int d2Tasks, int d3Tasks, int spawnTasks, int memWorkers, long calibrationWarmupMillis) {
        static final Sizes FULL = new Sizes(30_000, 50_000, 20_000, 200_000, 200, 2_000, 22, 101, 7, 5, 10_000,
                20_000, 3_000, 20_000, 100_000, 4_000, 200_000, 2_000, 10, 4, 2_000);
        static final Sizes QUICK = new Sizes(300, 2_000, 1_000, 10_000, 20, 200, 22, 21, 2, 1, 3_000,
                200, 0, 2_000, 2_000, 0, 20_000, 200, 3, 2, 300);
    }

    Sizes sizes() {
        return quick ? Sizes.QUICK : Sizes.FULL;
    }

    static BenchOptions parse(String[] args) {
        int runs = 3;
        boolean quick = false;
        Set<String> only = new LinkedHashSet<>(WORKLOADS);
        Set<String> systems = new LinkedHashSet<>(SYSTEMS);
        Path outFile = null;
        List<String> jvmOptions = List.of();
        String jestVersion = JEST_WORKER_VERSION;
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
                case "--only" -> only = workloads(value(args, ++i, arg));
                case "--systems" -> systems = systems(value(args, ++i, arg));
                case "--out" -> outFile = Path.of(value(args, ++i, arg));
                case "--jvm-options" -> jvmOptions = Arrays.stream(value(args, ++i, arg).trim().split("\\s+"))
                        .filter(s -> !s.isEmpty()).toList();
                case "--jest-worker-version" -> {
                    jestVersion = value(args, ++i, arg);
                    if (!VERSION.matcher(jestVersion).matches()) {
                        throw new IllegalArgumentException("--jest-worker-version takes a release like "
                                + JEST_WORKER_VERSION + ", was \"" + jestVersion + "\"");
                    }
                }
                default -> throw new IllegalArgumentException("unknown argument \"" + arg + "\"");
            }
        }
        return new BenchOptions(runs, quick, only, systems, outFile, jvmOptions, jestVersion);
    }

    private static Set<String> workloads(String list) {
        Set<String> chosen = new LinkedHashSet<>();
        for (String name : list.split(",")) {
            String w = name.trim().toUpperCase(Locale.ROOT);
            switch (w) {
                case "PEERS" -> chosen.addAll(PEER_WORKLOADS);
                case "DIAGNOSTICS" -> chosen.addAll(DIAGNOSTIC_WORKLOADS);
                case "MEMORY" -> chosen.add("MEM");
                default -> {
                    if (!WORKLOADS.contains(w)) {
                        throw new IllegalArgumentException("--only takes workloads among " + WORKLOADS
                                + ", \"peers\" or \"diagnostics\", got \"" + name + "\"");
                    }
                    chosen.add(w);
                }
            }
        }
        // always in the harness's order, whatever the order given
        Set<String> ordered = new LinkedHashSet<>(WORKLOADS);
        ordered.retainAll(chosen);
        return ordered;
    }

    private static Set<String> systems(String list) {
        Set<String> chosen = new LinkedHashSet<>();
        for (String name : list.split(",")) {
            String s = name.trim().toLowerCase(Locale.ROOT);
            if (!SYSTEMS.contains(s)) {
                throw new IllegalArgumentException("--systems takes systems among " + SYSTEMS + ", got \"" + name
                        + "\"");
            }
            chosen.add(s);
        }
        Set<String> ordered = new LinkedHashSet<>(SYSTEMS);
        ordered.retainAll(chosen);
        return ordered;
    }

    private static String value(String[] args, int index, String option) {
        if (index >= args.length) {
            throw new IllegalArgumentException(option + " needs a value");
        }
        return args[index];
    }
}
