package dev.procpool;

import java.time.Instant;
import java.util.List;
import java.util.Objects;

/**
 * A task that failed for good, with the record of every failed attempt. Immutable. A Jackson mapper with
 * {@code JavaTimeModule} (for the {@code Instant} and the attempts' {@code Duration}s) writes it as an object of its
 * components and reads it back.
 *
 * @param taskId         the task's id
 * @param taskType       the task's type
 * @param priority       the task's priority
 * @param payloadJson    the payload as it was sent, JSON text
 * @param reason         the final failure reason
 * @param message        the final failure's message
 * @param attempts       every failed attempt, oldest first
 * @param deadLetteredAt when the entry was added
 */
public record DeadLetter(String taskId, String taskType, int priority, String payloadJson, FailureReason reason,
                         String message, List<AttemptRecord> attempts, Instant deadLetteredAt) {
    /**
     * Checks the required components and copies the attempts.
     *
     * @param taskId         the task's id
     * @param taskType       the task's type
     * @param priority       the task's priority
     * @param payloadJson    the payload as it was sent, JSON text
     * @param reason         the final failure reason
     * @param message        the final failure's message
     * @param attempts       every failed attempt, oldest first
     * @param deadLetteredAt when the entry was added
     */
    public DeadLetter {
        Objects.requireNonNull(taskId, "taskId");
        Objects.requireNonNull(taskType, "taskType");
        Objects.requireNonNull(reason, "reason");
        attempts = List.copyOf(attempts);
        Objects.requireNonNull(deadLetteredAt, "deadLetteredAt");
    }
}
