package dev.procpool.core.internal.engine;

import dev.procpool.WorkerPool;
import dev.procpool.spi.PoolTracker;
import dev.procpool.core.internal.Loggers;
import org.slf4j.Logger;

import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Set;

/**
 * The pool's {@link PoolTracker}s, called as one. A tracker is the application's code (or a library's): each timing
 * call is guarded, and a tracker that throws is logged once and otherwise ignored, so it never changes what the
 * engine does.
 */
final class Trackers {
    private static final Logger LOG = Loggers.pool();

    private final String poolName;
    private final PoolTracker[] trackers;
    private final Set<PoolTracker> reported = Collections.synchronizedSet(Collections.newSetFromMap(
            new IdentityHashMap<>()));

    Trackers(String poolName, List<PoolTracker> trackers) {
        this.poolName = poolName;
        this.trackers = trackers.toArray(PoolTracker[]::new);
    }

    /**
     * Tells every tracker of the new pool. Unlike the timings, a failure here is not ignored: a tracker that cannot
     * take the pool (one already tracking another, say) is a configuration error, and the pool does not start.
     */
    void poolCreated(WorkerPool pool) {
        for (PoolTracker tracker : trackers) {
            tracker.poolCreated(pool);
        }
    }

    void taskDispatched(long waitNanos) {
        for (PoolTracker tracker : trackers) {
            try {
                tracker.taskDispatched(waitNanos);
            } catch (Throwable e) {
                failed(tracker, e);
            }
        }
    }

    void attemptEnded(long runNanos, boolean succeeded) {
        for (PoolTracker tracker : trackers) {
            try {
                tracker.attemptEnded(runNanos, succeeded);
            } catch (Throwable e) {
                failed(tracker, e);
            }
        }
    }

    void workerReady(long startupNanos) {
        for (PoolTracker tracker : trackers) {
            try {
                tracker.workerReady(startupNanos);
            } catch (Throwable e) {
                failed(tracker, e);
            }
        }
    }

    void storeCall(String operation, long nanos, boolean succeeded) {
        for (PoolTracker tracker : trackers) {
            try {
                tracker.storeCall(operation, nanos, succeeded);
            } catch (Throwable e) {
                failed(tracker, e);
            }
        }
    }

    void poolTerminated() {
        for (PoolTracker tracker : trackers) {
            try {
                tracker.poolTerminated();
            } catch (Throwable e) {
                failed(tracker, e);
            }
        }
    }

    private void failed(PoolTracker tracker, Throwable e) {
        if (reported.add(tracker)) {
            LOG.error("pool {}: tracker {} failed; its failures are ignored from now on (logged once)", poolName,
                    tracker, e);
        }
    }
}
