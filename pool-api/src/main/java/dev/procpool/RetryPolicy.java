package dev.procpool;

import java.time.Duration;
import java.util.EnumSet;
import java.util.Objects;
import java.util.Set;

/**
 * When and how often a failed task is tried again. Immutable; build one with {@link #builder()}.
 *
 * <p>An attempt is counted when the task is dispatched to a worker, so a task that kills its worker uses up its
 * budget and ends in the dead-letter queue instead of crash-looping the pool. Between attempts a task waits
 * {@code initialDelay × multiplier^(n-1)} (capped at {@code maxDelay}, then spread by ± {@code jitter}) without
 * holding a worker or blocking other tasks.
 *
 * <p>The first time a task's worker dies under it ({@link FailureReason#WORKER_CRASHED}) the task is tried again at
 * once, without the backoff ({@link #retriesFirstCrashAtOnce()}): a worker's death usually says nothing about the
 * task it held (the kernel's OOM killer, a kill from outside, a fault in another task), and a hot spare or the
 * replacement can run it now. That attempt counts too, and a second death waits the backoff as usual, so a task that
 * kills every worker it meets still ends in the dead-letter queue after {@link #maxAttempts()}.
 *
 * <p>Only failures whose reason is in {@link #retryOn()} are retried, and never one the worker marked as not
 * retryable (a Java handler throws {@link NonRetryableException}).
 */
public final class RetryPolicy {
    /** Reasons retried by default: the ones where another worker may well succeed. */
    public static final Set<FailureReason> DEFAULT_RETRY_ON = Set.copyOf(EnumSet.of(FailureReason.WORKER_CRASHED,
            FailureReason.OUT_OF_MEMORY, FailureReason.HUNG, FailureReason.PROTOCOL_ERROR, FailureReason.HOST_LOST));
    /** Reasons that can never be retried. */
    private static final Set<FailureReason> NEVER_RETRIED = EnumSet.of(FailureReason.CANCELLED,
            FailureReason.REJECTED, FailureReason.UNKNOWN_TASK_TYPE);

    private static final RetryPolicy DEFAULTS = builder().build();
    private static final RetryPolicy NONE = builder().maxAttempts(1).build();

    private final int maxAttempts;
    private final Duration initialDelay;
    private final double multiplier;
    private final Duration maxDelay;
    private final double jitter;
    private final Set<FailureReason> retryOn;
    private final boolean firstCrashAtOnce;

    private RetryPolicy(Builder b) {
        this.maxAttempts = b.maxAttempts;
        this.initialDelay = b.initialDelay;
        this.multiplier = b.multiplier;
        this.maxDelay = b.maxDelay;
        this.jitter = b.jitter;
        this.retryOn = Set.copyOf(b.retryOn);
        this.firstCrashAtOnce = b.firstCrashAtOnce;
    }

    /**
     * {@return the default policy: 3 attempts, 100 ms doubling up to 10 s, ±20 % jitter, retrying
     * {@link #DEFAULT_RETRY_ON}, the first crash at once}
     */
    public static RetryPolicy defaults() {
        return DEFAULTS;
    }

    /** {@return a policy of one attempt only} */
    public static RetryPolicy none() {
        return NONE;
    }

    /** {@return a builder starting from the defaults} */
    public static Builder builder() {
        return new Builder();
    }

    /** {@return the number of attempts in all, counting the first} */
    public int maxAttempts() {
        return maxAttempts;
    }

    /** {@return the delay before the second attempt} */
    public Duration initialDelay() {
        return initialDelay;
    }

    /** {@return the factor each further delay grows by} */
    public double multiplier() {
        return multiplier;
    }

    /** {@return the longest delay between attempts} */
    public Duration maxDelay() {
        return maxDelay;
    }

    /** {@return the fraction by which each delay is spread at random, 0 to 1} */
    public double jitter() {
        return jitter;
    }

    /** {@return the failure reasons that are retried} */
    public Set<FailureReason> retryOn() {
        return retryOn;
    }

    /**
     * {@return whether the first {@link FailureReason#WORKER_CRASHED} failure of a task is retried at once, without
     * the backoff (the default); later ones wait it}
     */
    public boolean retriesFirstCrashAtOnce() {
        return firstCrashAtOnce;
    }

    /**
     * Whether a failure with this reason after this many attempts is tried again.
     *
     * @param reason       why the attempt failed
     * @param attemptsMade the attempts made so far, the failed one included
     * @param retryable    {@code false} if the failure was marked not worth retrying ({@link NonRetryableException})
     * @return {@code true} if the task is tried again
     */
    public boolean shouldRetry(FailureReason reason, int attemptsMade, boolean retryable) {
        return retryable && attemptsMade < maxAttempts && retryOn.contains(reason);
    }

    @Override
    public String toString() {
        return "RetryPolicy{maxAttempts=" + maxAttempts + ", initialDelay=" + initialDelay + ", multiplier="
                + multiplier + ", maxDelay=" + maxDelay + ", jitter=" + jitter + ", retryOn=" + retryOn
                + ", firstCrashAtOnce=" + firstCrashAtOnce + '}';
    }

    /** Builds a {@link RetryPolicy}; each setter validates its argument. Not thread-safe. */
    public static final class Builder {
        private int maxAttempts = 3;
        private Duration initialDelay = Duration.ofMillis(100);
        private double multiplier = 2.0;
        private Duration maxDelay = Duration.ofSeconds(10);
        private double jitter = 0.2;
        private Set<FailureReason> retryOn = EnumSet.copyOf(DEFAULT_RETRY_ON);
        private boolean firstCrashAtOnce = true;

        private Builder() {
        }

        /**
         * Attempts in all, counting the first: 1 (no retry) to 100.
         *
         * @param maxAttempts the most attempts
         * @return this builder
         */
        public Builder maxAttempts(int maxAttempts) {
            this.maxAttempts = Checks.between("maxAttempts", maxAttempts, 1, 100);
            return this;
        }

        /**
         * The delay before the second attempt; zero or positive.
         *
         * @param delay the first delay
         * @return this builder
         */
        public Builder initialDelay(Duration delay) {
            this.initialDelay = Checks.notNegative("initialDelay", delay);
            return this;
        }

        /**
         * The factor each further delay grows by: 1 to 10.
         *
         * @param multiplier the growth factor
         * @return this builder
         */
        public Builder multiplier(double multiplier) {
            this.multiplier = Checks.multiplier(multiplier);
            return this;
        }

        /**
         * The longest delay; zero or positive, and at least initialDelay (checked by build()).
         *
         * @param delay the longest delay
         * @return this builder
         */
        public Builder maxDelay(Duration delay) {
            this.maxDelay = Checks.notNegative("maxDelay", delay);
            return this;
        }

        /**
         * Random spread of each delay, as a fraction: 0 (none) to 1.
         *
         * @param jitter the jitter fraction
         * @return this builder
         */
        public Builder jitter(double jitter) {
            this.jitter = Checks.jitter(jitter);
            return this;
        }

        /**
         * Whether the first time a task's worker dies under it ({@link FailureReason#WORKER_CRASHED}) the task is
         * tried again at once (default {@code true}) or after the backoff like any other failure. Either way the
         * attempt counts.
         *
         * @param atOnce {@code true} to skip the backoff before the retry after a task's first crash
         * @return this builder
         */
        public Builder retryFirstCrashAtOnce(boolean atOnce) {
            this.firstCrashAtOnce = atOnce;
            return this;
        }

        /**
         * The failure reasons to retry; CANCELLED, REJECTED and UNKNOWN_TASK_TYPE are not allowed.
         *
         * @param reasons the reasons to retry
         * @return this builder
         */
        public Builder retryOn(Set<FailureReason> reasons) {
            Objects.requireNonNull(reasons, "reasons");
            for (FailureReason reason : reasons) {
                if (NEVER_RETRIED.contains(Objects.requireNonNull(reason, "reason"))) {
                    throw new IllegalArgumentException("retryOn may not contain " + reason + "; allowed: any of "
                            + EnumSet.complementOf(EnumSet.copyOf(NEVER_RETRIED)));
                }
            }
            this.retryOn = reasons.isEmpty() ? EnumSet.noneOf(FailureReason.class) : EnumSet.copyOf(reasons);
            return this;
        }

        /**
         * Adds reasons to retry, for example {@link FailureReason#HANDLER_ERROR}.
         *
         * @param reasons the reasons to add
         * @return this builder
         */
        public Builder alsoRetryOn(FailureReason... reasons) {
            Set<FailureReason> all = EnumSet.noneOf(FailureReason.class);
            all.addAll(retryOn);
            all.addAll(Set.of(reasons));
            return retryOn(all);
        }

        /** {@return the immutable policy} */
        public RetryPolicy build() {
            if (maxDelay.compareTo(initialDelay) < 0) {
                throw new IllegalStateException("maxDelay (" + maxDelay + ") must not be shorter than initialDelay ("
                        + initialDelay + ")");
            }
            return new RetryPolicy(this);
        }
    }
}
