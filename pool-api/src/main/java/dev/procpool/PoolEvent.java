package dev.procpool;

import java.time.Duration;
import java.time.Instant;

/**
 * Something that happened in a pool. Events are immutable records, delivered to {@link PoolListener}s in order
 * on the pool's event thread, never on a thread that schedules tasks. A Jackson mapper with {@code JavaTimeModule}
 * (for their {@code Instant}s and {@code Duration}s) writes each as an object of its components, without the
 * event's kind: add it yourself (the record's simple class name) where one stream mixes kinds.
 */
public sealed interface PoolEvent {
    /** {@return the pool's name} */
    String pool();

    /** {@return the moment it happened (wall clock)} */
    Instant time();

    /** The pool started with this many workers. */
    record PoolStarted(String pool, Instant time, int workers) implements PoolEvent {
    }

    /** The pool terminated: every task ended and every worker exited. */
    record PoolTerminated(String pool, Instant time) implements PoolEvent {
    }

    /** A task was accepted. */
    record TaskSubmitted(String pool, Instant time, String taskId, String taskType, int priority)
            implements PoolEvent {
    }

    /** An attempt of a task was sent to a worker. */
    record TaskStarted(String pool, Instant time, String taskId, String taskType, String workerId, int attempt)
            implements PoolEvent {
    }

    /** A task succeeded. */
    record TaskCompleted(String pool, Instant time, String taskId, String taskType, String workerId, int attempt,
                         Duration runTime) implements PoolEvent {
    }

    /** An attempt failed; {@code willRetry} tells whether another attempt follows. */
    record TaskFailed(String pool, Instant time, String taskId, String taskType, FailureReason reason, int attempt,
                      boolean willRetry) implements PoolEvent {
    }

    /** A failed task will be tried again after {@code delay}. */
    record TaskRetried(String pool, Instant time, String taskId, String taskType, FailureReason reason,
                       int nextAttempt, Duration delay) implements PoolEvent {
    }

    /** A task failed for good and was recorded in the dead-letter queue. */
    record TaskDeadLettered(String pool, Instant time, DeadLetter entry) implements PoolEvent {
    }

    /** A worker completed its handshake. */
    record WorkerStarted(String pool, Instant time, String workerId, String group, long pid, Duration startupTime)
            implements PoolEvent {
    }

    /**
     * A worker process exited. {@code cause} is why the pool stopped it or how it died; {@code null} when the pool
     * retired it on purpose (shutdown, scaling, recycling).
     */
    record WorkerExited(String pool, Instant time, String workerId, String group, long pid, String exitStatus,
                        FailureReason cause) implements PoolEvent {
    }

    /** A worker went silent for longer than the heartbeat timeout and is being killed. */
    record ZombieDetected(String pool, Instant time, String workerId, long pid, Duration silence)
            implements PoolEvent {
    }

    /** A replacement for a dead worker will be started after {@code delay}. */
    record WorkerRestarting(String pool, Instant time, String group, String replacedWorkerId, FailureReason reason,
                            Duration delay) implements PoolEvent {
    }

    /** A worker was retired to be replaced by a fresh one (memory, task count or age limit). */
    record WorkerRecycled(String pool, Instant time, String workerId, String group, String why) implements PoolEvent {
    }

    /** A group's target size changed. */
    record Scaled(String pool, Instant time, String group, int from, int to) implements PoolEvent {
    }

    /** The pool's health changed. */
    record HealthChanged(String pool, Instant time, PoolHealth from, PoolHealth to) implements PoolEvent {
    }
}
