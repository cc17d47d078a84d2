package dev.procpool;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;

/**
 * A submitted task. Its outcome completes exactly once: with a {@link TaskResult}, or exceptionally with a
 * {@link TaskFailedException}. All methods are thread-safe.
 *
 * <p>Callbacks attached to {@link #future()} with the non-{@code Async} methods run on the pool's I/O thread that
 * read the result; keep them short and never block in them, or use the {@code …Async} variants.
 */
public interface TaskHandle {
    /** {@return the task's id (the caller's, or one the pool assigned)} */
    String id();

    /** {@return the request as submitted} */
    TaskRequest request();

    /** {@return the task's current state} */
    TaskState state();

    /**
     * A future of the outcome. Each call returns a view of the one outcome; completing or cancelling the view
     * does not affect the task (use {@link #cancel()} for that).
     *
     * @return a future that completes with the result, or exceptionally with a {@link TaskFailedException}
     */
    CompletableFuture<TaskResult> future();

    /**
     * Waits for the outcome.
     *
     * @return the result
     * @throws TaskFailedException if the task failed, was cancelled or was dead-lettered
     */
    TaskResult join();

    /**
     * Waits at most {@code timeout} for the outcome.
     *
     * @param timeout how long to wait; positive
     * @return the result
     * @throws TaskFailedException   if the task failed
     * @throws AwaitTimeoutException if the task did not end within the timeout (it goes on; await again, or
     *                               cancel it)
     */
    TaskResult await(Duration timeout);

    /**
     * {@return the worker that runs the task's current attempt, or ran its last one; empty before its first
     * dispatch} A worker id names a worker for the pool's whole life ({@link WorkerPool#worker(String)} while it
     * lives).
     */
    java.util.Optional<String> workerId();

    /**
     * Cancels the task. A queued task is removed from the queue; a running task is cancelled on its worker.
     * The outcome becomes a {@link TaskFailedException} with reason {@link FailureReason#CANCELLED}.
     *
     * @return {@code true} if this call cancelled the task, {@code false} if it had already ended
     */
    boolean cancel();

    /**
     * Registers a callback for the progress the handler reports ({@link TaskContext#progress}). It runs on the
     * pool's I/O thread: keep it short. Progress reported before registration is not replayed.
     *
     * @param listener called with each progress report
     * @return this handle
     */
    TaskHandle onProgress(java.util.function.Consumer<TaskProgress> listener);
}
