package dev.procpool;

import java.time.Instant;
import java.util.Optional;

/** What a {@link TaskHandler} knows about the task it runs. Valid only during {@link TaskHandler#handle}. */
public interface TaskContext {
    /** {@return the task's id} */
    String taskId();

    /** {@return the task's type} */
    String taskType();

    /** {@return the attempt number, counting from 1} */
    int attempt();

    /**
     * The payload read as the given type, with the handler's {@link TaskHandler#payloadCodec() codec}.
     *
     * @param <T>  the type to read
     * @param type the class of that type
     * @return the payload as that type
     * @throws IllegalArgumentException if the payload's JSON does not fit the type
     */
    <T> T payload(Class<T> type);

    /** {@return the payload as JSON text} */
    String payloadJson();

    /** {@return the moment the host will give up on this attempt, if the task has a timeout} */
    Optional<Instant> deadline();

    /**
     * Whether the host has asked to cancel this task. Long-running handlers should check it and return early;
     * one that does not will be stopped with its worker when the cancellation grace period ends.
     *
     * @return {@code true} once cancellation was asked for
     */
    boolean isCancelled();

    /**
     * Reports progress to the submitter ({@link TaskHandle#onProgress}). Cheap; call it as often as useful.
     *
     * @param fraction how far along, 0 to 1
     * @param message  what is happening now; may be empty
     */
    void progress(double fraction, String message);
}
