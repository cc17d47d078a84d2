package dev.procpool.core.internal.engine;

/**
 * Timings the dispatcher reports as they happen, for a metrics binder. Called under the dispatcher's lock: an
 * implementation only records (a Micrometer Timer does), never blocks.
 */
public interface Instruments {
    Instruments NONE = new Instruments() {
    };

    /** A task was dispatched after waiting this long in the queue. */
    default void taskDispatched(long waitNanos) {
    }

    /** An attempt ended after running this long; {@code succeeded} tells how. */
    default void attemptEnded(long runNanos, boolean succeeded) {
    }

    /** A worker became ready this long after it was launched. */
    default void workerReady(long startupNanos) {
    }
}
