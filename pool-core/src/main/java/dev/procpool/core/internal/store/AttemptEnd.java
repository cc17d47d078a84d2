package dev.procpool.core.internal.store;

import dev.procpool.AttemptRecord;
import dev.procpool.TaskState;

import java.time.Duration;
import java.time.Instant;
import java.util.Objects;

/**
 * The end of one claimed attempt, to record. Build one with {@link #succeeded}, {@link #retry} or {@link #ended}.
 *
 * @param lease      the attempt's fence
 * @param state      the task's terminal state, or {@code null} when the task is to be tried again
 * @param resultJson the result as JSON text when it succeeded
 * @param failure    the forensics when the attempt failed (kept in the attempts table), else {@code null}
 * @param message    the final failure's message when the task ended failed, dead-lettered or cancelled
 * @param retryAt    when the task may be claimed again, for a retry
 * @param workerId   the worker that ran the attempt
 * @param workerPid  that worker's pid (0 when unknown)
 * @param duration   from dispatch to the end of the attempt
 * @param endedAt    when the attempt ended
 */
public record AttemptEnd(LeaseRef lease, TaskState state, String resultJson, AttemptRecord failure, String message,
                         Instant retryAt, String workerId, long workerPid, Duration duration, Instant endedAt) {
    public AttemptEnd {
        Objects.requireNonNull(lease, "lease");
        Objects.requireNonNull(workerId, "workerId");
        Objects.requireNonNull(duration, "duration");
        Objects.requireNonNull(endedAt, "endedAt");
        if (state == null) {
            Objects.requireNonNull(retryAt, "retryAt");
            Objects.requireNonNull(failure, "failure");
        } else if (!state.isTerminal()) {
            throw new IllegalArgumentException("state must be terminal (or null for a retry), was " + state);
        } else if (state == TaskState.SUCCEEDED) {
            Objects.requireNonNull(resultJson, "resultJson");
        }
        if (failure != null && failure.attempt() != lease.attempt()) {
            throw new IllegalArgumentException("failure is of attempt " + failure.attempt() + ", the lease of attempt "
                    + lease.attempt());
        }
        message = message == null ? "" : message;
    }

    /** The attempt succeeded with this result. */
    public static AttemptEnd succeeded(LeaseRef lease, String resultJson, String workerId, long workerPid,
                                       Duration duration, Instant endedAt) {
        return new AttemptEnd(lease, TaskState.SUCCEEDED, resultJson, null, null, null, workerId, workerPid, duration,
                endedAt);
    }

    /** The attempt failed and the task is to be tried again from {@code retryAt}. */
    public static AttemptEnd retry(LeaseRef lease, AttemptRecord failure, Instant retryAt, Instant endedAt) {
        return new AttemptEnd(lease, null, null, failure, null, retryAt, failure.workerId(), failure.workerPid(),
                failure.duration(), endedAt);
    }

    /**
     * The attempt ended the task: {@code FAILED}, {@code DEAD_LETTERED} or {@code CANCELLED} with the attempt's
     * forensics and the final message.
     */
    public static AttemptEnd ended(LeaseRef lease, TaskState state, AttemptRecord failure, String message,
                                   Instant endedAt) {
        if (state == TaskState.SUCCEEDED) {
            throw new IllegalArgumentException("use succeeded(...) for a result");
        }
        Objects.requireNonNull(failure, "failure");
        return new AttemptEnd(lease, state, null, failure, message, null, failure.workerId(), failure.workerPid(),
                failure.duration(), endedAt);
    }

    /** Whether the task is to be tried again. */
    public boolean isRetry() {
        return state == null;
    }
}
