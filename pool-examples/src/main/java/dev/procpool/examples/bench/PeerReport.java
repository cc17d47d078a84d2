package dev.procpool.examples.bench;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * The peer workloads' figures, ratios and goals: one table per workload with every system side by side (median and
 * [min–max] over the rounds), the ratios of procpool to every other system taken round by round, and issue 15's
 * goals; and the same as JSON.
 */
final class PeerReport {
    /**
     * One figure of a peer workload.
     *
     * @param headline whether procpool is compared with every other system on it (ratio rows)
     */
    record Figure(String key, String label, String unit, boolean headline) {
    }

    /** The figures of each peer workload, in table order. The drivers use the same keys and units. */
    static final Map<String, List<Figure>> FIGURES = figures();

    private static Map<String, List<Figure>> figures() {
        Map<String, List<Figure>> f = new LinkedHashMap<>();
        f.put("W1", List.of(
                new Figure("p50", "round trip p50", "µs", true),
                new Figure("p99", "round trip p99", "µs", true),
                new Figure("hostCpu", "host CPU per task", "µs", false),
                new Figure("workerCpu", "worker CPU per task", "µs", false)));
        f.put("W2", List.of(
                new Figure("rate", "throughput", "tasks/s", true),
                new Figure("hostCpu", "host CPU per task", "µs", false),
                new Figure("workerCpu", "worker CPU per task (both)", "µs", false)));
        f.put("W3", List.of(
                new Figure("overIdeal", "total ÷ ideal", "×", true),
                new Figure("total", "total", "s", false),
                new Figure("ideal", "ideal: n × cost ÷ 2", "s", false),
                new Figure("cost", "one task in process (median)", "ms", false)));
        f.put("W4", List.of(
                new Figure("first", "new pool of 2 → first result", "ms", true),
                new Figure("ready", "of which start() until ready", "ms", false)));
        f.put("W5", List.of(
                new Figure("nospare.median", "1 worker: kill → answer from another pid", "ms", true),
                new Figure("nospare.max", "… worst kill of the round", "ms", false),
                new Figure("nospare.hung", "… kills never answered", "kills", false),
                new Figure("nospare.attempts", "… attempts of that task", "attempts", false),
                new Figure("spare.median", "1 worker + 1 hot spare: kill → answer", "ms", true),
                new Figure("spare.max", "… worst kill of the round", "ms", false),
                new Figure("spare.hung", "… kills never answered", "kills", false),
                new Figure("spare.attempts", "… attempts of that task", "attempts", false)));
        return f;
    }

    private PeerReport() {
    }

    static Figure figure(String workload, String key) {
        for (Figure figure : FIGURES.getOrDefault(workload, List.of())) {
            if (figure.key().equals(key)) {
                return figure;
            }
        }
        return null;
    }

    static String title(String workload, BenchOptions.Sizes s) {
        return switch (workload) {
            case "W1" -> String.format(Locale.ROOT, "W1 echo round trip: 1 worker, a 100-character string; %,d "
                    + "round trips of warm-up, then %,d sequential submitTask(…).join()", s.w1Warmup(),
                    s.w1RoundTrips());
            case "W2" -> String.format(Locale.ROOT, "W2 throughput: 2 workers; %,d echo tasks of warm-up, then %,d "
                    + "(the 100-character string) all submitted before any is awaited", s.w2Warmup(), s.w2Tasks());
            case "W3" -> String.format(Locale.ROOT, "W3 CPU-bound: 2 workers, SHA-256 over 64 KiB %d times per "
                    + "task; %,d tasks of warm-up, then %,d submitted together; ideal = n × the median in-process "
                    + "cost ÷ 2, each system in its own language", s.w3Rounds(), s.w3Warmup(), s.w3Tasks());
            case "W4" -> String.format(Locale.ROOT, "W4 cold start: a new pool of 2 workers until the first echo "
                    + "result; median of %d, a fresh pool each time", s.w4Starts());
            case "W5" -> String.format(Locale.ROOT, "W5 recovery: a warm, idle pool of 1 worker (then 1 worker + 1 "
                    + "hot spare); SIGKILL the worker, wait until it is dead, submit; from the kill until a result "
                    + "from another pid; median of %d kills (a fresh pool each), no answer in %,d ms = hung",
                    s.w5Kills(), s.w5HangMillis());
            default -> workload;
        };
    }

    /** The systems of a workload's table: the chosen ones, then its floor. */
    static List<String> columns(String workload, Set<String> systems) {
        List<String> columns = new ArrayList<>(systems);
        if (workload.equals("W1")) {
            columns.add(PeerSystem.RAW_PIPE);
        } else if (workload.equals("W4")) {
            columns.add(PeerSystem.BARE_JVM);
        }
        return columns;
    }

    static String key(String workload, String system, String figure) {
        return workload + "." + system + "." + figure;
    }

    /** procpool ÷ every other system on each headline figure, round by round; and issue 15's goals. */
    static void defineRatiosAndGoals(Results results, Set<String> workloads, Set<String> systems) {
        for (String workload : workloads) {
            if (!FIGURES.containsKey(workload)) {
                continue;
            }
            for (Figure figure : FIGURES.get(workload)) {
                if (!figure.headline()) {
                    continue;
                }
                for (String other : columns(workload, systems)) {
                    if (!other.equals(PeerSystem.PROCPOOL)) {
                        results.ratio(workload, "procpool ÷ " + PeerSystem.label(other) + ": " + figure.label(),
                                key(workload, PeerSystem.PROCPOOL, figure.key()), key(workload, other, figure.key()),
                                "× " + other, null);
                    }
                }
            }
        }
        String pp = PeerSystem.PROCPOOL;
        String sketch = PeerSystem.SKETCH;
        String jest = PeerSystem.JEST;
        results.target("W1 p50 ≤ the sketch's", ratio("W1", pp, sketch, "p50"),
                new Results.Bound(true, 1.0, "≤ 1×"));
        results.target("W2 tasks/s ≥ the sketch's", ratio("W2", pp, sketch, "rate"),
                new Results.Bound(false, 1.0, "≥ 1×"));
        results.target("W2 tasks/s ≥ 3× jest-worker's", ratio("W2", pp, jest, "rate"),
                new Results.Bound(false, 3.0, "≥ 3×"));
        results.target("W3 total ≤ 1.15× ideal", key("W3", pp, "overIdeal"),
                new Results.Bound(true, 1.15, "≤ 1.15×"));
        results.target("W3 below jest-worker's (÷ ideal)", ratio("W3", pp, jest, "overIdeal"),
                new Results.Bound(true, 1.0, "≤ 1×"));
        results.target("W4 ≤ 150 ms", key("W4", pp, "first"), new Results.Bound(true, 150, "≤ 150 ms"));
        results.target("W4 ≤ 1.5× jest-worker's", ratio("W4", pp, jest, "first"),
                new Results.Bound(true, 1.5, "≤ 1.5×"));
        results.target("W5 without a spare ≤ 150 ms", key("W5", pp, "nospare.median"),
                new Results.Bound(true, 150, "≤ 150 ms"));
        results.target("W5 with a hot spare ≤ 20 ms (median)", key("W5", pp, "spare.median"),
                new Results.Bound(true, 20, "≤ 20 ms"));
        results.target("W5 with a hot spare ≤ 50 ms (worst kill)", "max:" + key("W5", pp, "spare.max"),
                new Results.Bound(true, 50, "≤ 50 ms"));
        results.target("idle Java worker ≤ 50 MiB RSS (MEM)", "mem.workerRss",
                new Results.Bound(true, 50, "≤ 50 MiB"));
    }

    private static String ratio(String workload, String numerator, String denominator, String figure) {
        return "ratio:" + key(workload, numerator, figure) + "/" + key(workload, denominator, figure);
    }

    /** Prints one table per peer workload that ran. */
    static void print(PrintStream out, Results results, BenchOptions options) {
        for (String workload : options.only()) {
            if (!FIGURES.containsKey(workload)) {
                continue;
            }
            List<String> columns = columns(workload, options.systems());
            List<List<String>> rows = new ArrayList<>();
            List<String> header = new ArrayList<>(List.of("figure"));
            columns.forEach(c -> header.add(PeerSystem.label(c)));
            rows.add(header);
            Set<String> footnotes = new LinkedHashSet<>();
            for (Figure figure : FIGURES.get(workload)) {
                List<String> row = new ArrayList<>(List.of(figure.label() + " (" + figure.unit() + ")"));
                boolean any = false;
                for (String system : columns) {
                    Results.Metric metric = results.metric(key(workload, system, figure.key()));
                    if (metric != null && Stats.finite(metric.values).length > 0) {
                        row.add(cell(metric.values));
                        any = true;
                    } else {
                        String status = results.status(workload, system, figure.key());
                        row.add(status == null ? "—" : status.replaceFirst(":.*", ""));
                        if (status != null && status.contains(":")) {
                            footnotes.add(PeerSystem.label(system) + ": " + status);
                        }
                    }
                }
                if (any) {
                    rows.add(row);
                }
            }
            for (Figure figure : FIGURES.get(workload)) {
                if (!figure.headline()) {
                    continue;
                }
                List<String> row = new ArrayList<>(List.of("procpool ÷ system, " + figure.label()));
                boolean any = false;
                for (String system : columns) {
                    double[] values = ratioValues(results, workload, system, figure.key());
                    if (values != null && Stats.finite(values).length > 0) {
                        row.add(ratioCell(values));
                        any = true;
                    } else {
                        row.add("—");
                    }
                }
                if (any) {
                    rows.add(row);
                }
            }
            out.println();
            out.println(title(workload, options.sizes()));
            printAligned(out, rows);
            footnotes.forEach(note -> out.println("  * " + note));
        }
    }

    /** The goals of issue 15, with the median figure each is judged on. */
    static void printGoals(PrintStream out, List<String[]> goals) {
        if (goals.isEmpty()) {
            return;
        }
        out.println();
        List<List<String>> rows = new ArrayList<>();
        rows.add(List.of("goal (issue 15)", "median", "target", "met"));
        goals.forEach(g -> rows.add(List.of(g)));
        printAligned(out, rows);
    }

    /** The run-by-run values of procpool ÷ {@code system} on a figure, or null when that ratio is not defined. */
    static double[] ratioValues(Results results, String workload, String system, String figure) {
        String numerator = key(workload, PeerSystem.PROCPOOL, figure);
        String denominator = key(workload, system, figure);
        for (Results.Ratio ratio : results.ratios()) {
            if (ratio.numerator().equals(numerator) && ratio.denominator().equals(denominator)) {
                return results.values(ratio);
            }
        }
        return null;
    }

    /** "median [min–max]", or the median alone for one round. */
    private static String cell(double[] values) {
        double[] finite = Stats.finite(values);
        String median = Stats.format(Stats.median(finite));
        return finite.length > 1 ? median + " [" + Stats.range(finite) + "]" : median;
    }

    /** "median× [min–max]", or the median alone for one round. */
    private static String ratioCell(double[] values) {
        double[] finite = Stats.finite(values);
        String median = Stats.format(Stats.median(finite)) + "×";
        return finite.length > 1 ? median + " [" + Stats.range(finite) + "]" : median;
    }

    private static void printAligned(PrintStream out, List<List<String>> rows) {
        int columns = rows.stream().mapToInt(List::size).max().orElse(0);
        int[] widths = new int[columns];
        for (List<String> row : rows) {
            for (int i = 0; i < row.size(); i++) {
                widths[i] = Math.max(widths[i], row.get(i).length());
            }
        }
        for (List<String> row : rows) {
            StringBuilder line = new StringBuilder("  ");
            for (int i = 0; i < row.size(); i++) {
                line.append(String.format(Locale.ROOT, "%-" + widths[i] + "s", row.get(i)));
                if (i < row.size() - 1) {
                    line.append("  ");
                }
            }
            out.println(line.toString().stripTrailing());
        }
    }

    /** The tables as JSON: per workload, per figure, per system, the values of every round or the status. */
    static List<Object> json(Results results, BenchOptions options) {
        List<Object> workloads = new ArrayList<>();
        for (String workload : options.only()) {
            if (!FIGURES.containsKey(workload)) {
                continue;
            }
            List<String> columns = columns(workload, options.systems());
            List<Object> figures = new ArrayList<>();
            for (Figure figure : FIGURES.get(workload)) {
                Map<String, Object> cells = new LinkedHashMap<>();
                for (String system : columns) {
                    Results.Metric metric = results.metric(key(workload, system, figure.key()));
                    Map<String, Object> cell = new LinkedHashMap<>();
                    if (metric != null && Stats.finite(metric.values).length > 0) {
                        cell.putAll(BenchmarkHarness.summary(metric.values));
                    } else {
                        cell.put("status", results.status(workload, system, figure.key()));
                    }
                    if (!system.equals(PeerSystem.PROCPOOL) && figure.headline()) {
                        double[] ratio = ratioValues(results, workload, system, figure.key());
                        if (ratio != null && Stats.finite(ratio).length > 0) {
                            cell.put("procpoolRatio", BenchmarkHarness.summary(ratio));
                        }
                    }
                    cells.put(system, cell);
                }
                Map<String, Object> f = new LinkedHashMap<>();
                f.put("key", figure.key());
                f.put("label", figure.label());
                f.put("unit", figure.unit());
                f.put("systems", cells);
                figures.add(f);
            }
            Map<String, Object> w = new LinkedHashMap<>();
            w.put("workload", workload);
            w.put("title", title(workload, options.sizes()));
            w.put("systems", columns);
            w.put("figures", figures);
            workloads.add(w);
        }
        return workloads;
    }
}
