package dev.procpool;

import java.time.Duration;

/**
 * How the pool replaces workers that die. Immutable; build one with {@link #builder()}.
 *
 * <p>Consecutive failures of a group (a worker that dies, or that cannot start) are replaced after an exponential
 * backoff with jitter, reset once a worker of the group has stayed up for {@link #window()}. When more than
 * {@link #maxRestarts()} restarts happen within {@link #window()} (the restart intensity of Erlang supervisors), the
 * pool turns {@link PoolState#DEGRADED}: it logs it, emits an event, reports it in its health, and goes on replacing
 * workers only at {@link #maxDelay()} pace instead of in a storm. It returns to {@link PoolState#RUNNING} when the
 * restarts within the window fall back under the limit.
 */
public final class RestartPolicy {
    private static final RestartPolicy DEFAULTS = builder().build();

    private final Duration initialDelay;
    private final double multiplier;
    private final Duration maxDelay;
    private final double jitter;
    private final int maxRestarts;
    private final Duration window;
    private final int startFailuresBeforeFailingTasks;

    private RestartPolicy(Builder b) {
        this.startFailuresBeforeFailingTasks = b.startFailuresBeforeFailingTasks;
        this.initialDelay = b.initialDelay;
        this.multiplier = b.multiplier;
        this.maxDelay = b.maxDelay;
        this.jitter = b.jitter;
        this.maxRestarts = b.maxRestarts;
        this.window = b.window;
    }

    /**
     * 5 ms doubling to 30 s, ±20 % jitter, at most 10 restarts per 60 s: a single crash is replaced almost at
     * once, a crash loop slows down quickly.
     *
     * @return the default restart policy
     */
    public static RestartPolicy defaults() {
        return DEFAULTS;
    }

    /** {@return a builder starting from the defaults} */
    public static Builder builder() {
        return new Builder();
    }

    /** {@return the delay before replacing a worker after the first of consecutive failures} */
    public Duration initialDelay() {
        return initialDelay;
    }

    /** {@return the growth factor of consecutive delays} */
    public double multiplier() {
        return multiplier;
    }

    /** {@return the longest delay, and the pace of replacements while the pool is degraded} */
    public Duration maxDelay() {
        return maxDelay;
    }

    /** {@return the random spread of each delay, as a fraction} */
    public double jitter() {
        return jitter;
    }

    /** {@return the restarts allowed within {@link #window()} before the pool is degraded} */
    public int maxRestarts() {
        return maxRestarts;
    }

    /** {@return the window of the restart intensity, and how long a worker must stay up to reset the backoff} */
    public Duration window() {
        return window;
    }

    /**
     * {@return consecutive start failures of a group (workers that could not be launched or exited before
     * {@code ready}) after which its tasks fail} After that many failures, while none of its workers is ready, the tasks only it can run fail with
     * {@link FailureReason#STARTUP_FAILURE} (carrying the last launch error) and new ones are refused with
     * {@link TaskRejectedException.Kind#WORKERS_CANNOT_START}. The group goes on trying to start workers at the
     * backoff's pace; the first worker that becomes ready lifts the refusal.
     */
    public int startFailuresBeforeFailingTasks() {
        return startFailuresBeforeFailingTasks;
    }

    @Override
    public String toString() {
        return "RestartPolicy{initialDelay=" + initialDelay + ", multiplier=" + multiplier + ", maxDelay=" + maxDelay
                + ", jitter=" + jitter + ", maxRestarts=" + maxRestarts + ", window=" + window
                + ", startFailuresBeforeFailingTasks=" + startFailuresBeforeFailingTasks + '}';
    }

    /** Builds a {@link RestartPolicy}; each setter validates its argument. Not thread-safe. */
    public static final class Builder {
        private Duration initialDelay = Duration.ofMillis(5);
        private double multiplier = 2.0;
        private Duration maxDelay = Duration.ofSeconds(30);
        private double jitter = 0.2;
        private int maxRestarts = 10;
        private Duration window = Duration.ofSeconds(60);
        private int startFailuresBeforeFailingTasks = 3;

        private Builder() {
        }

        /**
         * Delay before replacing a worker after the first failure; zero or positive.
         *
         * @param delay the first delay
         * @return this builder
         */
        public Builder initialDelay(Duration delay) {
            this.initialDelay = Checks.notNegative("initialDelay", delay);
            return this;
        }

        /**
         * Growth factor of consecutive delays: 1 to 10.
         *
         * @param multiplier the growth factor
         * @return this builder
         */
        public Builder multiplier(double multiplier) {
            this.multiplier = Checks.multiplier(multiplier);
            return this;
        }

        /**
         * The longest delay, also the pace of replacements while degraded; positive.
         *
         * @param delay the longest delay
         * @return this builder
         */
        public Builder maxDelay(Duration delay) {
            this.maxDelay = Checks.positive("maxDelay", delay);
            return this;
        }

        /**
         * Random spread of each delay, as a fraction: 0 to 1.
         *
         * @param jitter the jitter fraction
         * @return this builder
         */
        public Builder jitter(double jitter) {
            this.jitter = Checks.jitter(jitter);
            return this;
        }

        /**
         * Restarts allowed within the window before the pool is degraded: 1 to 10,000.
         *
         * @param maxRestarts the restarts allowed per window
         * @return this builder
         */
        public Builder maxRestarts(int maxRestarts) {
            this.maxRestarts = Checks.between("maxRestarts", maxRestarts, 1, 10_000);
            return this;
        }

        /**
         * The window of the restart intensity, and how long a worker must stay up to reset the backoff.
         *
         * @param window the window; positive
         * @return this builder
         */
        public Builder window(Duration window) {
            this.window = Checks.positive("window", window);
            return this;
        }

        /**
         * Consecutive start failures of a group with no ready worker after which its tasks fail with
         * {@link FailureReason#STARTUP_FAILURE} and new ones are refused until a worker starts: 1 to 1,000
         * (default 3).
         *
         * @param failures start failures in a row
         * @return this builder
         */
        public Builder startFailuresBeforeFailingTasks(int failures) {
            this.startFailuresBeforeFailingTasks = Checks.between("startFailuresBeforeFailingTasks", failures, 1,
                    1_000);
            return this;
        }

        /**
         * The immutable policy.
         *
         * @return the validated policy
         * @throws IllegalStateException if maxDelay is shorter than initialDelay
         */
        public RestartPolicy build() {
            if (maxDelay.compareTo(initialDelay) < 0) {
                throw new IllegalStateException("maxDelay (" + maxDelay + ") must not be shorter than initialDelay ("
                        + initialDelay + ")");
            }
            return new RestartPolicy(this);
        }
    }
}
