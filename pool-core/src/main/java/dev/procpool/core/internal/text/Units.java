package dev.procpool.core.internal.text;

import java.math.BigDecimal;
import java.math.RoundingMode;
import java.time.Duration;

/**
 * Durations and sizes written for people, for log lines and messages: {@code 1.04 s}, {@code 250 ms},
 * {@code 3 µs}, {@code 2 min 5 s}, {@code 64 MiB}, {@code 1.5 KiB}. Below a minute and for sizes, three significant
 * digits with trailing zeros dropped; from a minute up, the two largest whole units. Sizes use binary units
 * (1 KiB = 1024 B). The output never depends on the default locale.
 */
public final class Units {
    private static final String[] TIME_UNITS = {"ns", "µs", "ms", "s"};
    private static final String[] SIZE_UNITS = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
    /** From this many nanoseconds up (59.95 s, which rounds to 60.0 s) a duration is written in minutes. */
    private static final long MINUTE_FORMAT_FROM = 59_950_000_000L;

    private Units() {
    }

    /** A duration for people: {@code 1.04 s}, {@code 250 ms}, {@code 1 h 5 min}; negative ones with a minus. */
    public static String duration(Duration duration) {
        if (duration.isNegative()) {
            return "-" + duration(duration.negated());
        }
        if (duration.getSeconds() >= 60) { // long durations overflow nanoseconds: count them in seconds
            return wholeUnits(duration.getSeconds() + (duration.getNano() >= 500_000_000 ? 1 : 0));
        }
        return nanos(duration.toNanos());
    }

    /** A duration given in nanoseconds (as a {@code Ticker} reads them) for people. */
    public static String nanos(long nanos) {
        if (nanos < 0) {
            return "-" + nanos(nanos == Long.MIN_VALUE ? Long.MAX_VALUE : -nanos);
        }
        if (nanos >= MINUTE_FORMAT_FROM) {
            return wholeUnits(Math.round(nanos / 1e9));
        }
        return scaled(BigDecimal.valueOf(nanos), 1000, TIME_UNITS);
    }

    /** A size in bytes for people: {@code 512 B}, {@code 1.5 KiB}, {@code 64 MiB}; negative ones with a minus. */
    public static String bytes(long bytes) {
        if (bytes < 0) {
            return "-" + scaled(BigDecimal.valueOf(bytes).negate(), 1024, SIZE_UNITS);
        }
        return scaled(BigDecimal.valueOf(bytes), 1024, SIZE_UNITS);
    }

    /** The value in the largest unit it reaches, with three significant digits. */
    private static String scaled(BigDecimal value, int step, String[] units) {
        BigDecimal divisor = BigDecimal.valueOf(step);
        int unit = 0;
        while (unit < units.length - 1 && value.compareTo(divisor) >= 0) {
            value = value.divide(divisor);
            unit++;
        }
        BigDecimal rounded = threeSignificantDigits(value);
        if (rounded.compareTo(divisor) >= 0 && unit < units.length - 1) { // 999.96 ms is 1 s, 1023.9 KiB is 1 MiB
            rounded = threeSignificantDigits(rounded.divide(divisor));
            unit++;
        }
        return rounded.stripTrailingZeros().toPlainString() + " " + units[unit];
    }

    private static BigDecimal threeSignificantDigits(BigDecimal value) {
        int decimals = 0;
        if (value.compareTo(BigDecimal.TEN) < 0) {
            decimals = 2;
        } else if (value.compareTo(BigDecimal.valueOf(100)) < 0) {
            decimals = 1;
        }
        return value.setScale(decimals, RoundingMode.HALF_UP);
    }

    /** Whole seconds as the two largest units: {@code 2 min 5 s}, {@code 1 h}, {@code 3 d 4 h}. */
    private static String wholeUnits(long seconds) {
        if (seconds < 3600) {
            return pair(seconds / 60, "min", seconds % 60, "s");
        }
        if (seconds < 86_400) {
            long minutes = Math.round(seconds / 60.0);
            return minutes == 1440 ? "1 d" : pair(minutes / 60, "h", minutes % 60, "min");
        }
        long hours = Math.round(seconds / 3600.0);
        return pair(hours / 24, "d", hours % 24, "h");
    }

    private static String pair(long major, String majorUnit, long minor, String minorUnit) {
        return minor == 0 ? major + " " + majorUnit : major + " " + majorUnit + " " + minor + " " + minorUnit;
    }
}
