package dev.procpool.core.internal.engine;

/**
 * The adaptive send-ahead window of one worker: how many tasks the host may send it beyond those it runs at once,
 * sized from two measured times.
 * <ul>
 *   <li>The task time {@code T}: what the worker says it spent on each task (the {@code runNanos} of its answers).
 *       It follows a longer task at once and a shorter one slowly, so one long task closes the window for a
 *       while.</li>
 *   <li>The round trip {@code R}: from sending a task that the worker could start at once until its answer arrives,
 *       less the worker's own time on it: the pipes, the wake-ups and the host's share. Its average leans to the quick
 *       ones (see the weights below): a busy moment must not make tasks that take longer than the usual round trip
 *       look short.</li>
 * </ul>
 * The window is {@code floor(slots × R / T)}, at most {@link #MAX_WINDOW}: enough tasks sent ahead to keep the worker
 * busy while its answers travel, and no more than one round trip's worth of work, so a task sent ahead waits behind
 * its worker's backlog no longer than it would have taken to reach any other worker. Tasks of microseconds get a
 * deep window. Tasks of up to {@link #ONE_AHEAD_ROUND_TRIPS} round trips, and of {@link #ONE_AHEAD_MAX_NANOS} at most,
 * get a window of one: without it the worker would idle a round trip between two of them (1/32 of its time or more,
 * and more still on a busy machine, where the answer also waits for a CPU), and with it a task waits behind one such
 * task at most. (The absolute bound keeps a round trip measured slow, as a fresh worker's first answers are, from
 * letting tasks of tens of milliseconds wait behind each other.) Longer tasks get none,
 * and keep strict priority order. Without both times measured (before a worker's first answer, or with a worker
 * that does not report {@code runNanos}) the window is 0.
 *
 * <p>A pure function of what it is told, with no clock of its own. Not thread-safe: guarded by the engine's lock.
 */
final class SendAhead {
    /** The deepest window. */
    static final int MAX_WINDOW = dev.procpool.WorkerGroup.ADAPTIVE_PREFETCH_MAX;
    /** Tasks up to this many round trips long get one task sent ahead (see above). */
    static final int ONE_AHEAD_ROUND_TRIPS = 32;
    /** ... and at most this long (2 ms). */
    static final long ONE_AHEAD_MAX_NANOS = 2_000_000;
    /**
     * Weights of a new round trip in its average: a shorter one counts for half, a longer one for 1/16, so the
     * average follows the quick round trips and a moment of congestion (a garbage collection, a busy host) hardly
     * moves it. And the weight of a shorter task time (1/8); a longer one is taken at once.
     */
    private static final int SHORTER_ROUND_TRIP_WEIGHT = 2;
    private static final int LONGER_ROUND_TRIP_WEIGHT = 16;
    private static final int SHORTER_TASK_WEIGHT = 8;
    /** Task times are taken as at least this: a task never costs less than a microsecond of the worker's loop. */
    private static final long MIN_TASK_NANOS = 1_000;

    private long roundTripNanos = -1;
    private long taskNanos = -1;
    private int window;

    /**
     * A task's answer arrived.
     *
     * @param sentToAnswerNanos from sending the task to its answer
     * @param runNanos          what the worker says it spent on the task; negative when it did not say
     * @param startedAtOnce     whether the worker could start the task as it arrived (a free slot, nothing ahead):
     *                          only then does {@code sentToAnswerNanos - runNanos} measure the round trip
     * @param slots             how many tasks the worker runs at once
     */
    void answered(long sentToAnswerNanos, long runNanos, boolean startedAtOnce, int slots) {
        if (runNanos < 0) {
            return; // the worker does not say: the window stays as it is (0 unless it said before)
        }
        long task = Math.max(MIN_TASK_NANOS, runNanos);
        taskNanos = taskNanos < 0 || task > taskNanos ? task : taskNanos - (taskNanos - task) / SHORTER_TASK_WEIGHT;
        if (startedAtOnce) {
            long roundTrip = Math.max(0, sentToAnswerNanos - runNanos);
            roundTripNanos = roundTripNanos < 0 ? roundTrip : roundTripNanos + (roundTrip - roundTripNanos)
                    / (roundTrip < roundTripNanos ? SHORTER_ROUND_TRIP_WEIGHT : LONGER_ROUND_TRIP_WEIGHT);
        }
        if (roundTripNanos < 0) {
            window = 0;
        } else {
            int roundTripsWorth = (int) Math.min(MAX_WINDOW, (double) Math.max(1, slots) * roundTripNanos / taskNanos);
            window = Math.max(roundTripsWorth, taskNanos <= oneAheadBoundNanos() ? 1 : 0);
        }
    }

    /** The longest task that may wait at this worker with one task ahead of it, or -1 before a round trip is known. */
    long oneAheadBoundNanos() {
        return roundTripNanos < 0 ? -1 : Math.min(ONE_AHEAD_MAX_NANOS, roundTripNanos * ONE_AHEAD_ROUND_TRIPS);
    }

    /** Tasks that may be sent ahead now, beyond the worker's slots. */
    int window() {
        return window;
    }

    /** The measured round trip in nanoseconds, or -1 before the first. */
    long roundTripNanos() {
        return roundTripNanos;
    }

    /** The task time the window is sized with, in nanoseconds, or -1 before the first. */
    long taskNanos() {
        return taskNanos;
    }

    @Override
    public String toString() {
        return "window " + window + " (round trip " + roundTripNanos + " ns, task " + taskNanos + " ns)";
    }
}
