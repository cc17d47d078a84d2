package dev.procpool;

import java.util.Objects;

/**
 * Thrown by {@link WorkerPool#submitTask(TaskRequest)} when the pool will not accept a task. Nothing was
 * queued; the caller may correct the request or try again later, as the {@link #kind()} suggests.
 */
public class TaskRejectedException extends ProcPoolException {
    private static final long serialVersionUID = 1L;

    /** Why a task was not accepted. */
    public enum Kind {
        /** The pool is shutting down or terminated. */
        SHUT_DOWN,
        /** The queue is at capacity. */
        QUEUE_FULL,
        /** The serialized payload is larger than the pool's frame limit. */
        PAYLOAD_TOO_LARGE,
        /**
         * The payload cannot be written as JSON by the pool's {@link PoolConfig#payloadCodec() payload codec} (with
         * the built-in one, for example, an object with nothing to write), or what the codec wrote is not one JSON
         * value within the frame limits.
         */
        INVALID_PAYLOAD,
        /** No worker of the pool serves the task's type or has its required capabilities. */
        NO_CAPABLE_WORKER,
        /** A task with the same id is still in the pool. */
        DUPLICATE_ID,
        /**
         * Every group that could run the task keeps failing to start its workers
         * ({@link RestartPolicy#startFailuresBeforeFailingTasks()}); the message carries the last launch error. The
         * pool accepts such tasks again once a worker starts.
         */
        WORKERS_CANNOT_START,
        /**
         * The pool's durable task store cannot be reached, so the task cannot be made durable now; nothing was
         * stored. Try again later: the pool reconnects by itself.
         */
        STORE_UNAVAILABLE
    }

    /** Why the task was not accepted. */
    private final Kind kind;

    /**
     * Creates the exception.
     *
     * @param kind    why the task was not accepted
     * @param message what was wrong, naming the bad value
     */
    public TaskRejectedException(Kind kind, String message) {
        super(message);
        this.kind = Objects.requireNonNull(kind, "kind");
    }

    /**
     * Creates the exception with its cause.
     *
     * @param kind    why the task was not accepted
     * @param message what was wrong, naming the bad value
     * @param cause   the exception that caused it
     */
    public TaskRejectedException(Kind kind, String message, Throwable cause) {
        super(message, cause);
        this.kind = Objects.requireNonNull(kind, "kind");
    }

    /** {@return why the task was rejected} */
    public Kind kind() {
        return kind;
    }
}
