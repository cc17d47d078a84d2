package dev.procpool.core.internal.process;

/**
 * How many lines one worker may put in the host's log: a token bucket (a burst, then a steady rate), with a count
 * of the lines it refused, so that a worker writing megabytes a second to stderr costs the host a bounded log and
 * one line saying how much was left out. Time comes from the caller, in nanoseconds. Thread-safe.
 */
public final class LineBudget {
    /** What to do with one line. */
    public record Verdict(boolean log, long droppedToReport) {
        static final Verdict LOG = new Verdict(true, 0);
        static final Verdict DROP = new Verdict(false, 0);
    }

    private final int burst;
    private final double linesPerNano;
    private final long reportEveryNanos;
    private double tokens;
    private long refilledAt;
    private long dropped;
    private long reportedAt;

    /**
     * @param burst          lines that may be logged at once after a quiet spell (at least 1)
     * @param linesPerSecond lines a second after the burst (more than 0)
     * @param reportEveryNanos while lines are dropped, how often to say how many (at least 0)
     * @param now            the current time, in nanoseconds
     */
    public LineBudget(int burst, double linesPerSecond, long reportEveryNanos, long now) {
        if (burst < 1) {
            throw new IllegalArgumentException("burst must be at least 1, was " + burst);
        }
        if (!(linesPerSecond > 0) || Double.isInfinite(linesPerSecond)) {
            throw new IllegalArgumentException("linesPerSecond must be a finite number above 0, was "
                    + linesPerSecond);
        }
        if (reportEveryNanos < 0) {
            throw new IllegalArgumentException("reportEveryNanos must be 0 or more, was " + reportEveryNanos);
        }
        this.burst = burst;
        this.linesPerNano = linesPerSecond / 1e9;
        this.reportEveryNanos = reportEveryNanos;
        this.tokens = burst;
        this.refilledAt = now;
        this.reportedAt = now;
    }

    /**
     * Takes one line's worth. The verdict says whether to log the line, and how many dropped lines to report first:
     * a count is reported with the first line (logged or not) once {@code reportEveryNanos} has passed since the last
     * report, so reports cost at most one line per period.
     */
    public synchronized Verdict take(long now) {
        long elapsed = now - refilledAt; // a difference: nanoTime may wrap
        if (elapsed > 0) {
            tokens = Math.min(burst, tokens + elapsed * linesPerNano);
            refilledAt = now;
        }
        boolean log = tokens >= 1;
        if (log) {
            tokens--;
        } else {
            dropped++;
        }
        if (dropped > 0 && now - reportedAt >= reportEveryNanos) {
            return new Verdict(log, report(now));
        }
        return log ? Verdict.LOG : Verdict.DROP;
    }

    /** The lines dropped and not yet reported, now reported: for when the worker is gone. */
    public synchronized long drainDropped(long now) {
        return report(now);
    }

    private long report(long now) {
        long count = dropped;
        dropped = 0;
        reportedAt = now;
        return count;
    }
}
