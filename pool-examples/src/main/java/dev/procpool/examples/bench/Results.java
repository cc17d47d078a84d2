package dev.procpool.examples.bench;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What the benchmark measured: metrics with one value per run, ratios between two metrics taken run by run
 * (paired, so both sides saw the same machine load), and targets. Not thread-safe; the harness is sequential.
 */
final class Results {
    /** One measured figure: one value per run, NaN where a run did not produce it. */
    static final class Metric {
        final String workload;
        final String key;
        final String label;
        final String unit;
        final double[] values;

        Metric(String workload, String key, String label, String unit, int runs) {
            this.workload = workload;
            this.key = key;
            this.label = label;
            this.unit = unit;
            this.values = new double[runs];
            Arrays.fill(values, Double.NaN);
        }

        double median() {
            return Stats.median(values);
        }
    }

    /** numerator / denominator × scale (for unlike units), run by run; an optional bound it should meet. */
    record Ratio(String workload, String label, String numerator, String denominator, double scale,
                 String shortName, Bound target) {
    }

    /** A bound on a figure: at most (or at least) {@code value}. */
    record Bound(boolean atMost, double value, String text) {
        boolean met(double figure) {
            return Double.isFinite(figure) && (atMost ? figure <= value : figure >= value);
        }
    }

    /** A target on a metric's median. */
    record Target(String label, String metric, Bound bound) {
    }

    private final int runs;
    private final Map<String, Metric> metrics = new LinkedHashMap<>();
    private final List<Ratio> ratios = new ArrayList<>();
    private final List<Target> targets = new ArrayList<>();
    private final Map<String, String> notes = new LinkedHashMap<>();
    private final Map<String, String> statuses = new LinkedHashMap<>();

    Results(int runs) {
        this.runs = runs;
    }

    /** Records the value of a metric for one run, defining the metric on first use. */
    void put(int run, String workload, String key, String label, String unit, double value) {
        Metric metric = metrics.computeIfAbsent(key, k -> new Metric(workload, key, label, unit, runs));
        metric.values[run] = value;
    }

    void ratio(String workload, String label, String numerator, String denominator, String shortName,
               Bound target) {
        ratio(workload, label, numerator, denominator, 1.0, shortName, target);
    }

    void ratio(String workload, String label, String numerator, String denominator, double scale,
               String shortName, Bound target) {
        ratios.add(new Ratio(workload, label, numerator, denominator, scale, shortName, target));
    }

    void target(String label, String metric, Bound bound) {
        targets.add(new Target(label, metric, bound));
    }

    /** A free-text remark kept in the JSON output (first one per key wins). */
    void note(String key, String text) {
        notes.putIfAbsent(key, text);
    }

    /** A free-text remark kept in the JSON output, replacing any earlier one of that key. */
    void replaceNote(String key, String text) {
        notes.put(key, text);
    }

    /**
     * Why a figure ({@code "W5.python.spare.median"}) or a whole column ({@code "W5.python"}) has no value, such as
     * "absent: node is not on the PATH" or "cannot: …"; the first text per key is kept.
     */
    void status(String key, String text) {
        statuses.putIfAbsent(key, text);
    }

    /** The status of a figure of one system, or of its whole column; null when none was given. */
    String status(String workload, String system, String figure) {
        String own = statuses.get(workload + "." + system + "." + figure);
        return own != null ? own : statuses.get(workload + "." + system);
    }

    Map<String, String> statuses() {
        return statuses;
    }

    Metric metric(String key) {
        return metrics.get(key);
    }

    List<Metric> metrics() {
        return List.copyOf(metrics.values());
    }

    List<Ratio> ratios() {
        return List.copyOf(ratios);
    }

    List<Target> targets() {
        return List.copyOf(targets);
    }

    Map<String, String> notes() {
        return notes;
    }

    /** The ratio's values run by run: NaN where either side is missing. */
    double[] values(Ratio ratio) {
        Metric num = metrics.get(ratio.numerator());
        Metric den = metrics.get(ratio.denominator());
        double[] values = new double[runs];
        for (int i = 0; i < runs; i++) {
            values[i] = num == null || den == null ? Double.NaN : num.values[i] / den.values[i] * ratio.scale();
        }
        return values;
    }

    int runs() {
        return runs;
    }
}
