package dev.procpool;

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
     * @return the result, any object Jackson can write as JSON without type information (may be {@code null})
     * @throws Exception any failure; it reaches the caller as a {@link TaskFailedException} with reason
     *                   {@link FailureReason#HANDLER_ERROR} carrying the exception's class, message and stack
     */
    Object handle(TaskContext context) throws Exception;
}
