package dev.procpool.spi;

import dev.procpool.WorkerPool;

/**
 * Receives a pool's measurements as they happen: the seam a metrics library plugs into (procpool-core's
 * {@code PoolMetrics} for Micrometer is one), in the manner of HikariCP's metrics tracker. Give it to the pool when
 * building it ({@code WorkerPool.builder().tracker(tracker)}), so that it sees the pool from its first worker on.
 *
 * <p>The timing methods are called on the pool's threads while it holds its scheduling lock: record and return,
 * never block and never call the pool from them. What they throw is logged once and otherwise ignored; it never
 * changes what the pool does. Times are in nanoseconds, as read from the pool's ticker.
 */
public interface PoolTracker {
    /**
     * The pool exists and is about to launch its first workers. From now on the tracker may read the pool's
     * {@link WorkerPool#snapshot()}, {@link WorkerPool#workers()} and {@link WorkerPool#deadLetters()} from any
     * thread of its own (not from the timing methods). A tracker that cannot take this pool throws, and the pool does
     * not start: the exception reaches the caller of {@code start()}.
     *
     * @param pool the pool being created
     */
    default void poolCreated(WorkerPool pool) {
    }

    /**
     * A task waited this long in the queue before it was dispatched to a worker.
     *
     * @param waitNanos the time waited, in nanoseconds
     */
    default void taskDispatched(long waitNanos) {
    }

    /**
     * An attempt ran this long on a worker; {@code succeeded} tells how it ended.
     *
     * @param runNanos  the time the attempt ran, in nanoseconds
     * @param succeeded {@code true} if the attempt succeeded
     */
    default void attemptEnded(long runNanos, boolean succeeded) {
    }

    /**
     * A worker sent {@code ready} this long after it was launched.
     *
     * @param startupNanos the start-up time, in nanoseconds
     */
    default void workerReady(long startupNanos) {
    }

    /**
     * A call to the pool's durable task store ended (only with a durable store).
     *
     * @param operation {@code submit}, {@code claim}, {@code record} or {@code renew}
     * @param nanos     how long it took
     * @param succeeded whether the store answered (false: it could not be reached)
     */
    default void storeCall(String operation, long nanos, boolean succeeded) {
    }

    /** The pool has terminated: every task ended, every worker exited. */
    default void poolTerminated() {
    }
}
