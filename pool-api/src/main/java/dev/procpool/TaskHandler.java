package dev.procpool;

import java.util.Optional;
import java.util.Set;

/**
 * The worker-side SPI for Java workers: user code that runs tasks inside a worker JVM.
 *
 * <p>The worker runtime creates one instance of each configured handler class with its public no-argument
 * constructor when the worker starts, and keeps it for the worker's whole life, so a handler can hold warm state
 * (a loaded model, a compiled parser) across tasks. A worker runs one task at a time on one thread unless the
 * worker group allows more; handlers used with per-worker concurrency above one must be thread-safe.
 *
 * <p>Anything the handler prints to {@code System.out} is moved to the worker's stderr, which the host logs;
 * it never breaks the protocol.
 */
public interface TaskHandler {
    /** {@return the task types this handler serves; fixed for the handler's life and not empty} */
    Set<String> taskTypes();

    /**
     * Runs one task.
     *
     * @param context the task's payload, attempt and cancellation flag
     * @return the result, any value this handler's {@link #payloadCodec() codec} writes as JSON (may be
     *         {@code null}); a result it cannot write (with the built-in mapper: an object with no properties to
     *         write) fails the task with {@link FailureReason#HANDLER_ERROR}, saying why
     * @throws Exception any failure; it reaches the caller as a {@link TaskFailedException} with reason
     *                   {@link FailureReason#HANDLER_ERROR} carrying the exception's class, message and stack
     */
    Object handle(TaskContext context) throws Exception;

    /**
     * The codec with which this handler's tasks read their payload ({@link TaskContext#payload(Class)}) and write
     * their result. Asked once, when the worker creates the handler; several handlers in one worker may each have
     * their own. Empty (the default) uses the pool's built-in Jackson mapper. To read and write with the Jackson
     * mapper of your application:
     *
     * <pre>{@code
     * private static final PayloadCodec JSON = JacksonPayloads.using(JsonMapper.builder()
     *         .addModule(new JavaTimeModule()).addModule(new Jdk8Module()).build());
     *
     * @Override public Optional<PayloadCodec> payloadCodec() { return Optional.of(JSON); }
     * }</pre>
     *
     * @return this handler's codec, or empty for the built-in one
     */
    default Optional<PayloadCodec> payloadCodec() {
        return Optional.empty();
    }
}
