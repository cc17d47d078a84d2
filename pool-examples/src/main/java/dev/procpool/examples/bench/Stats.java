package dev.procpool.examples.bench;

import java.util.Arrays;
import java.util.Locale;

/** Small statistics and formatting helpers for the benchmark. Stateless. */
public final class Stats {
    private Stats() {
    }

    /** The nearest-rank percentile of {@code sorted} (ascending), {@code p} from 0 to 1; NaN when empty. */
    public static double percentile(long[] sorted, double p) {
        if (sorted.length == 0) {
            return Double.NaN;
        }
        int rank = (int) Math.ceil(p * sorted.length);
        return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))];
    }

    /** The mean of the values; NaN when empty. */
    public static double mean(long[] values) {
        if (values.length == 0) {
            return Double.NaN;
        }
        double sum = 0;
        for (long v : values) {
            sum += v;
        }
        return sum / values.length;
    }

    /** The median of the finite values (the mean of the middle two for an even count); NaN when none. */
    public static double median(double[] values) {
        double[] finite = finite(values);
        if (finite.length == 0) {
            return Double.NaN;
        }
        Arrays.sort(finite);
        int mid = finite.length / 2;
        return finite.length % 2 == 1 ? finite[mid] : (finite[mid - 1] + finite[mid]) / 2;
    }

    /** The smallest finite value; NaN when none. */
    public static double min(double[] values) {
        return Arrays.stream(finite(values)).min().orElse(Double.NaN);
    }

    /** The largest finite value; NaN when none. */
    public static double max(double[] values) {
        return Arrays.stream(finite(values)).max().orElse(Double.NaN);
    }

    /** The finite values, in order. */
    public static double[] finite(double[] values) {
        return Arrays.stream(values).filter(Double::isFinite).toArray();
    }

    /** A number with three significant digits or more (no exponent), thousands separated; "n/a" for NaN. */
    public static String format(double value) {
        if (!Double.isFinite(value)) {
            return "n/a";
        }
        double abs = Math.abs(value);
        String pattern = abs >= 100 ? "%,.0f" : abs >= 10 ? "%,.1f" : abs >= 1 ? "%,.2f" : "%,.3f";
        return String.format(Locale.ROOT, pattern, value);
    }

    /** "min–max" of the finite values, or "n/a". */
    public static String range(double[] values) {
        double[] finite = finite(values);
        if (finite.length == 0) {
            return "n/a";
        }
        return format(min(finite)) + "–" + format(max(finite));
    }

    /** Nanoseconds as microseconds. */
    public static double micros(double nanos) {
        return nanos / 1_000.0;
    }

    /** Nanoseconds as milliseconds. */
    public static double millis(double nanos) {
        return nanos / 1_000_000.0;
    }
}
