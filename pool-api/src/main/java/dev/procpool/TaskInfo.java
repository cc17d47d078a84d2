package dev.procpool;

import java.time.Instant;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * What the pool knows of one task, queued, running or ended: as {@link WorkerPool#task(String)} returns it. With a
 * durable task store this comes from the store, for tasks submitted by any host of the pool, and ended tasks stay
 * findable for the store's retention; in memory, for tasks this pool holds and, after they end, for its output
 * retention.
 *
 * @param id             the task's id
 * @param type           its type
 * @param state          its state now
 * @param attempts       attempts dispatched so far
 * @param failedAttempts the forensics of each failed attempt, oldest first
 * @param resultJson     the result as JSON, if it succeeded
 * @param failureReason  why it failed, if it ended otherwise
 * @param failureMessage what happened, if it ended otherwise; empty when it did not
 * @param submittedAt    when it was accepted
 * @param endedAt        when it ended, if it has
 * @param host           the host that ran its last attempt (its store identity), if known
 * @param workerId       the worker of its last attempt, if known
 */
public record TaskInfo(String id, String type, TaskState state, int attempts, List<AttemptRecord> failedAttempts,
                       String resultJson, FailureReason failureReason, String failureMessage, Instant submittedAt,
                       Instant endedAt, String host, String workerId) {
    /**
     * @param id             the task's id
     * @param type           its type
     * @param state          its state now
     * @param attempts       attempts dispatched so far
     * @param failedAttempts the forensics of each failed attempt, oldest first
     * @param resultJson     the result as JSON, or {@code null}
     * @param failureReason  why it failed, or {@code null}
     * @param failureMessage what happened, or empty
     * @param submittedAt    when it was accepted
     * @param endedAt        when it ended, or {@code null}
     * @param host           the host of its last attempt, or {@code null}
     * @param workerId       the worker of its last attempt, or {@code null}
     */
    public TaskInfo {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(type, "type");
        Objects.requireNonNull(state, "state");
        failedAttempts = List.copyOf(failedAttempts);
        failureMessage = failureMessage == null ? "" : failureMessage;
    }

    /** {@return the result as JSON, if the task succeeded} */
    public Optional<String> result() {
        return Optional.ofNullable(resultJson);
    }
}
