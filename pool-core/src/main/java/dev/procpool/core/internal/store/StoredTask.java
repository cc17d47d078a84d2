package dev.procpool.core.internal.store;

import dev.procpool.FailureReason;
import dev.procpool.RetryPolicy;
import dev.procpool.TaskState;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * A task as the store holds it, from the hot table (waiting or running) or the ended table.
 *
 * @param id                   the task's id
 * @param type                 its type
 * @param requiredCapabilities capabilities a worker must have
 * @param payloadJson          the payload as JSON text
 * @param priority             its priority
 * @param rank                 its claim order
 * @param timeout              its attempt timeout, or {@code null}
 * @param retryPolicy          its stored retry policy
 * @param affinityKey          its affinity key, or {@code null}
 * @param submittedAt          when it was submitted
 * @param state                where it is: {@code QUEUED}, {@code SCHEDULED} (delayed), {@code RETRY_WAIT},
 *                             {@code RUNNING}
 *                             or a terminal state
 * @param attempts             attempts started so far
 * @param notBefore            when it may next be claimed (waiting tasks), else {@code null}
 * @param leaseOwner           the host running it, else {@code null}
 * @param leaseExpires         when that host's lease ends, else {@code null}
 * @param cancelRequested      whether a cancel was requested while it runs
 * @param resultJson           the result when it succeeded, else {@code null}
 * @param failureReason        the final failure's reason when it ended otherwise, else {@code null}
 * @param failureMessage       the final failure's message, else empty
 * @param endedAt              when it ended, else {@code null}
 * @param expiresAt            when the ended task is purged, else {@code null}
 * @param finalHost            the host of the final attempt of an ended task, else {@code null}
 * @param finalWorkerId        the worker of that attempt, else {@code null}
 * @param failedAttempts       every failed attempt with its forensics, oldest first
 */
public record StoredTask(String id, String type, Set<String> requiredCapabilities, String payloadJson, int priority,
                         long rank, Duration timeout, RetryPolicy retryPolicy, String affinityKey,
                         Instant submittedAt, TaskState state, int attempts, Instant notBefore, String leaseOwner,
                         Instant leaseExpires, boolean cancelRequested, String resultJson,
                         FailureReason failureReason, String failureMessage, Instant endedAt, Instant expiresAt,
                         String finalHost, String finalWorkerId, List<StoredAttempt> failedAttempts) {
    public StoredTask {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(state, "state");
        requiredCapabilities = Set.copyOf(requiredCapabilities);
        failureMessage = failureMessage == null ? "" : failureMessage;
        failedAttempts = List.copyOf(failedAttempts);
    }

    /** This task with its failed attempts. */
    StoredTask withAttempts(List<StoredAttempt> attempts) {
        return new StoredTask(id, type, requiredCapabilities, payloadJson, priority, rank, timeout, retryPolicy,
                affinityKey, submittedAt, state, this.attempts, notBefore, leaseOwner, leaseExpires, cancelRequested,
                resultJson, failureReason, failureMessage, endedAt, expiresAt, finalHost, finalWorkerId, attempts);
    }
}
