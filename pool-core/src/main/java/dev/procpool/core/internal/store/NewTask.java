package dev.procpool.core.internal.store;

import dev.procpool.RetryPolicy;
import dev.procpool.TaskRequest;

import java.time.Duration;
import java.time.Instant;
import java.util.Objects;
import java.util.Set;

/**
 * A task to insert, as the engine prepared it.
 *
 * @param id                   unique within the pool, also across hosts (a generated id must be globally unique)
 * @param type                 the task type
 * @param requiredCapabilities capabilities a worker must have; empty for none
 * @param payloadJson          the payload as JSON text
 * @param priority             0 (first) to 100
 * @param rank                 the claim order, lower first: the priority with aging folded in, computed from wall
 *                             clock time so that it is comparable across hosts and does not change while queued
 * @param notBefore            the task is not claimed before this time
 * @param timeout              the attempt timeout, or {@code null} for none
 * @param retryPolicy          the task's effective retry policy, stored with it
 * @param affinityKey          the affinity key, or {@code null}
 * @param submittedAt          when it was submitted
 */
public record NewTask(String id, String type, Set<String> requiredCapabilities, String payloadJson, int priority,
                      long rank, Instant notBefore, Duration timeout, RetryPolicy retryPolicy, String affinityKey,
                      Instant submittedAt) {
    public NewTask {
        Objects.requireNonNull(id, "id");
        if (id.isEmpty() || id.length() > TaskRequest.MAX_ID_LENGTH
                || !id.chars().allMatch(c -> c > 0x20 && c < 0x7f)) {
            // also what keeps ids safe in the space-separated notification payloads
            throw new IllegalArgumentException("id must be 1 to " + TaskRequest.MAX_ID_LENGTH
                    + " printable ASCII characters without spaces, was \"" + id + "\"");
        }
        Objects.requireNonNull(type, "type");
        requiredCapabilities = Set.copyOf(requiredCapabilities);
        Objects.requireNonNull(payloadJson, "payloadJson");
        if (priority < TaskRequest.HIGHEST_PRIORITY || priority > TaskRequest.LOWEST_PRIORITY) {
            throw new IllegalArgumentException("priority must be between " + TaskRequest.HIGHEST_PRIORITY + " and "
                    + TaskRequest.LOWEST_PRIORITY + ", was " + priority);
        }
        Objects.requireNonNull(notBefore, "notBefore");
        Objects.requireNonNull(retryPolicy, "retryPolicy");
        Objects.requireNonNull(submittedAt, "submittedAt");
    }
}
