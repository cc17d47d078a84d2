package dev.procpool.core.internal.store;

import dev.procpool.TaskState;

import java.util.Objects;

/**
 * What a cancel did.
 *
 * @param outcome what happened
 * @param state   the task's state after the call ({@code null} when not found)
 * @param owner   the host running the task when the cancel was only requested, else {@code null}
 */
public record CancelResult(Outcome outcome, TaskState state, String owner) {
    /** What a cancel did. */
    public enum Outcome {
        /** The task was waiting (queued, delayed or waiting to retry): it ended {@code CANCELLED} now. */
        CANCELLED,
        /** The task is running: the host running it was asked to stop it and will record the end. */
        REQUESTED,
        /** The task had already ended; nothing changed. */
        ALREADY_ENDED,
        /** No task with this id (or it ended longer ago than the retention). */
        NOT_FOUND
    }

    public CancelResult {
        Objects.requireNonNull(outcome, "outcome");
    }
}
