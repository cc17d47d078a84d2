package dev.procpool;

import java.util.Objects;
import java.util.Optional;

/**
 * The typed failure of a task: the reason, how many attempts were made, and what the worker reported.
 * A task's future completes exceptionally with this exception exactly once.
 */
public class TaskFailedException extends ProcPoolException {
    private static final long serialVersionUID = 1L;

    /** The id of the failed task. */
    private final String taskId;
    /** The type of the failed task. */
    private final String taskType;
    /** Why the last attempt failed. */
    private final FailureReason reason;
    /** How many attempts were dispatched to workers. */
    private final int attempts;
    private final transient RemoteError remoteError;
    private final transient java.util.List<String> output;
    private final transient java.util.List<AttemptRecord> failedAttempts;

    /**
     * Creates the failure of a task that wrote no output.
     *
     * @param taskId      the id of the failed task
     * @param taskType    the type of the failed task
     * @param reason      why the last attempt failed
     * @param attempts    how many attempts were dispatched to workers
     * @param remoteError the error the worker reported, or {@code null}
     * @param detail      what happened, for the message
     */
    public TaskFailedException(String taskId, String taskType, FailureReason reason, int attempts,
                               RemoteError remoteError, String detail) {
        this(taskId, taskType, reason, attempts, remoteError, detail, java.util.List.of());
    }

    /**
     * Creates the failure of a task.
     *
     * @param taskId      the id of the failed task
     * @param taskType    the type of the failed task
     * @param reason      why the last attempt failed
     * @param attempts    how many attempts were dispatched to workers
     * @param remoteError the error the worker reported, or {@code null}
     * @param detail      what happened, for the message
     * @param output      what the last attempt wrote while it ran, oldest first
     */
    public TaskFailedException(String taskId, String taskType, FailureReason reason, int attempts,
                               RemoteError remoteError, String detail, java.util.List<String> output) {
        this(taskId, taskType, reason, attempts, remoteError, detail, output, java.util.List.of());
    }

    /**
     * Creates the failure of a task, with the forensics of its failed attempts.
     *
     * @param taskId         the id of the failed task
     * @param taskType       the type of the failed task
     * @param reason         why the last attempt failed
     * @param attempts       how many attempts were dispatched to workers
     * @param remoteError    the error the worker reported, or {@code null}
     * @param detail         what happened, for the message
     * @param output         what the last attempt wrote while it ran, oldest first
     * @param failedAttempts the forensics of each failed attempt (worker, pid, reason, exit, duration, memory,
     *                       output tail), oldest first
     */
    public TaskFailedException(String taskId, String taskType, FailureReason reason, int attempts,
                               RemoteError remoteError, String detail, java.util.List<String> output,
                               java.util.List<AttemptRecord> failedAttempts) {
        super(describe(taskId, taskType, reason, attempts, remoteError, detail));
        this.failedAttempts = java.util.List.copyOf(failedAttempts);
        this.taskId = Objects.requireNonNull(taskId, "taskId");
        this.taskType = Objects.requireNonNull(taskType, "taskType");
        this.reason = Objects.requireNonNull(reason, "reason");
        this.attempts = attempts;
        this.remoteError = remoteError;
        this.output = java.util.List.copyOf(output);
    }

    /**
     * {@return the forensics of each failed attempt, oldest first} The same records a dead-letter entry keeps, for
     * failures that do not go to the dead-letter queue. Empty for a task that never ran (cancelled or failed while
     * queued).
     */
    public java.util.List<AttemptRecord> failedAttempts() {
        return failedAttempts;
    }

    /** {@return what the last attempt wrote while it ran (stderr and log lines), bounded, oldest first} */
    public java.util.List<String> output() {
        return output;
    }

    private static String describe(String taskId, String taskType, FailureReason reason, int attempts,
                                   RemoteError remoteError, String detail) {
        StringBuilder text = new StringBuilder()
                .append("task ").append(taskId).append(" (").append(taskType).append(") failed: ").append(reason)
                .append(" after ").append(attempts).append(attempts == 1 ? " attempt" : " attempts");
        if (remoteError != null) {
            text.append(": ").append(remoteError.className());
            if (!remoteError.message().isEmpty()) {
                text.append(": ").append(remoteError.message());
            }
        }
        if (detail != null && !detail.isEmpty()) {
            text.append(" (").append(detail).append(')');
        }
        return text.toString();
    }

    /** {@return the id of the failed task} */
    public String taskId() {
        return taskId;
    }

    /** {@return the type of the failed task} */
    public String taskType() {
        return taskType;
    }

    /** {@return why the last attempt failed} */
    public FailureReason reason() {
        return reason;
    }

    /** {@return how many attempts were dispatched to workers (0 when the task never started)} */
    public int attempts() {
        return attempts;
    }

    /** {@return the error the worker reported, for {@link FailureReason#HANDLER_ERROR} and some others} */
    public Optional<RemoteError> remoteError() {
        return Optional.ofNullable(remoteError);
    }
}
