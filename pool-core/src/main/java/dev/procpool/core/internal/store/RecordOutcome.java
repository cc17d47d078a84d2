package dev.procpool.core.internal.store;

/** What became of one recorded attempt end. */
public enum RecordOutcome {
    /**
     * Written (or found already written by an earlier call whose commit the caller could not confirm: recording
     * is idempotent).
     */
    APPLIED,
    /**
     * The attempt failed and was to be retried, but a cancel had been requested meanwhile: the task ended
     * {@code CANCELLED} instead, with the attempt's forensics.
     */
    CANCELLED,
    /**
     * Rejected by the fence: the attempt's lease was rescued by another host (or this one), so the task now
     * belongs to a later attempt or has ended. The engine counts and logs this answer and otherwise drops it.
     */
    FENCED
}
