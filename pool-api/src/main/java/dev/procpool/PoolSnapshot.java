package dev.procpool;

import java.util.List;
import java.util.Map;

/**
 * An immutable view of a whole pool at one moment, as {@link WorkerPool#snapshot()} returns it. Plain values only
 * (times in milliseconds), so it serializes as is with Jackson.
 *
 * @param pool        name, size, state and uptime
 * @param workers     worker counts by condition
 * @param tasks       task counts since the pool started
 * @param performance reuse and timing figures
 * @param health      status and alerts
 * @param queue       what waits
 * @param groups      each worker group's size and bounds
 * @param deadLetters the dead-letter queue's size and what passed through it
 * @param store       where the tasks are kept, and how the store is doing
 */
public record PoolSnapshot(Pool pool, Workers workers, Tasks tasks, Performance performance, PoolHealth health,
                           Queue queue, List<Group> groups, DeadLetters deadLetters, Store store) {
    /**
     * Copies the groups.
     *
     * @param pool        name, size, state and uptime
     * @param workers     worker counts by condition
     * @param tasks       task counts since the pool started
     * @param performance reuse and timing figures
     * @param health      status and alerts
     * @param queue       what waits
     * @param groups      each worker group's size and bounds
     * @param deadLetters the dead-letter queue's size and what passed through it
     * @param store       where the tasks are kept, and how the store is doing
     */
    public PoolSnapshot {
        groups = List.copyOf(groups);
    }

    /** The pool itself: {@code size} counts the workers serving (not being stopped, not hot spares). */
    public record Pool(String name, int size, PoolState state, long uptimeMillis) {
    }

    /** All current processes: idle, busy (running a task), unhealthy (starting, silent, being stopped). */
    public record Workers(int total, int idle, int busy, int unhealthy) {
    }

    /**
     * Tasks since the pool started, each ended task counted once by its terminal state: {@code completed}
     * succeeded, {@code failed} ended {@link TaskState#FAILED} (a failure its retry policy does not retry),
     * {@code deadLettered} ended in the dead-letter queue (the pool gave up retrying it), {@code cancelled}.
     * {@code attemptFailures} counts failed attempts by reason, retried or not; {@code rejectedByKind} the
     * submissions refused, by why.
     */
    public record Tasks(long submitted, long completed, long failed, long deadLettered, long cancelled,
                        long rejected, long retried, long queued, long running,
                        Map<FailureReason, Long> attemptFailures,
                        Map<TaskRejectedException.Kind, Long> rejectedByKind) {
        /**
         * Copies the maps.
         *
         * @param submitted       tasks accepted
         * @param completed       tasks that succeeded
         * @param failed          tasks that ended failed or dead-lettered
         * @param deadLettered    tasks that ended in the dead-letter queue
         * @param cancelled       tasks cancelled
         * @param rejected        submissions refused
         * @param retried         failed attempts that were retried
         * @param queued          tasks waiting in the queue now
         * @param running         tasks running now
         * @param attemptFailures failed attempts by reason, retried or not
         * @param rejectedByKind  submissions refused, by why
         */
        public Tasks {
            attemptFailures = Map.copyOf(attemptFailures);
            rejectedByKind = Map.copyOf(rejectedByKind);
        }
    }

    /**
     * How well workers are reused: tasks served per worker started, workers started (including replacements),
     * restarts (and by the reason the replaced worker died), zombies detected, the mean run time of completed tasks,
     * and the choices a load balancer got wrong (it threw, or chose a worker that was not a candidate; least-loaded
     * chose instead).
     */
    public record Performance(double workerReuseRate, long workersSpawned, long restarts, long zombiesDetected,
                              double averageTaskMillis, Map<FailureReason, Long> restartsByReason,
                              long balancerFailures) {
        /**
         * Copies the map.
         *
         * @param workerReuseRate   tasks served per worker started
         * @param workersSpawned    workers started, replacements included
         * @param restarts          workers replaced
         * @param zombiesDetected   workers found silent
         * @param averageTaskMillis the mean run time of completed tasks
         * @param restartsByReason  restarts by the reason the replaced worker died
         * @param balancerFailures  choices a load balancer got wrong
         */
        public Performance {
            restartsByReason = Map.copyOf(restartsByReason);
        }
    }

    /**
     * Tasks waiting on this host: queued, and waiting to be retried or for their not-before time (with a durable
     * store, only what this host claimed; {@link Store#queued()} counts the store's); and the mean time tasks waited
     * to be dispatched.
     */
    public record Queue(int depth, int waitingToRetry, double averageWaitMillis) {
    }

    /** The dead-letter queue: entries held now, entries ever added, entries evicted to keep it within its bounds. */
    public record DeadLetters(int size, long added, long evicted) {
    }

    /**
     * Where the pool keeps its tasks and how that goes. {@code kind} is {@code in-memory}, {@code sqlite} or
     * {@code postgresql}; the rest is zero (or empty) in memory. {@code host}: this host's name in the store, as
     * {@link TaskInfo#host()} names the host of a task's last attempt. {@code available}: the store answers now. {@code hosts}: hosts
     * of the pool seen alive lately (this one included). {@code queued}: tasks waiting in the store (read now and
     * then, so a little old). {@code rescuedAttempts}: attempts of lost hosts this host closed ({@code HOST_LOST}).
     * {@code fencedAnswers}: answers this host's workers gave after its lease on the attempt was lost, discarded.
     * {@code errors}: store calls that failed because the store could not be reached.
     *
     * @param kind            where tasks are kept
     * @param host            this host's name in the store; empty in memory
     * @param available       whether the store answers now
     * @param hosts           hosts of the pool seen alive lately
     * @param queued          tasks waiting in the store
     * @param rescuedAttempts attempts of lost hosts closed by this host
     * @param fencedAnswers   late answers discarded
     * @param errors          store calls that failed
     */
    public record Store(String kind, String host, boolean available, int hosts, long queued, long rescuedAttempts,
                        long fencedAnswers, long errors) {
    }

    /** A worker group: its target size now, the bounds of automatic scaling, live workers and hot spares. */
    public record Group(String name, int target, int minWorkers, int maxWorkers, int live, int hotSpares) {
    }
}
