package dev.procpool;

import java.time.Duration;
import java.util.Objects;

/**
 * Thrown by {@link TaskHandle#await(Duration)} when the task did not end within the time given. The task is not
 * affected: it goes on, and its outcome can be awaited again or the task cancelled. The state is the task's state
 * when the wait ended, never a terminal one (a task that ended meanwhile is reported by its outcome instead).
 */
public class AwaitTimeoutException extends ProcPoolException {
    /** Serialization version. */
    private static final long serialVersionUID = 1L;

    /** The task that did not end in time. */
    private final String taskId;
    /** How long the caller waited. */
    private final Duration waited;
    /** The task's state when the wait ended. */
    private final TaskState state;

    /**
     * @param taskId  the task that did not end in time
     * @param waited  how long the caller waited
     * @param state   the task's state when the wait ended
     * @param message what happened, for people
     */
    public AwaitTimeoutException(String taskId, Duration waited, TaskState state, String message) {
        super(message);
        this.taskId = Objects.requireNonNull(taskId, "taskId");
        this.waited = Objects.requireNonNull(waited, "waited");
        this.state = Objects.requireNonNull(state, "state");
    }

    /** {@return the task that did not end in time} */
    public String taskId() {
        return taskId;
    }

    /** {@return how long the caller waited} */
    public Duration waited() {
        return waited;
    }

    /** {@return the task's state when the wait ended: queued, running or waiting to be retried} */
    public TaskState state() {
        return state;
    }
}
