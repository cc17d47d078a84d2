package dev.procpool;

import dev.procpool.spi.WorkerPoolProvider;

import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * A pool of long-lived worker processes that run tasks. Tasks wait in a priority queue and are dispatched to
 * workers that stay alive across tasks, keeping their warm state.
 *
 * <pre>{@code
 * try (WorkerPool pool = WorkerPool.builder()
 *         .workers(4)
 *         .javaWorker(ResizeHandler.class)
 *         .start()) {
 *     TaskResult r = pool.submitTask(TaskRequest.of("resize", Map.of("w", 64)).withPriority(5)).join();
 * }
 * }</pre>
 *
 * <p>Guarantees: every accepted task reaches exactly one terminal state and its future completes exactly once;
 * no worker process outlives the pool, whether it is closed, the host exits, or the host is killed.
 *
 * <p>All methods are thread-safe.
 */
public interface WorkerPool extends AutoCloseable {

    /** {@return a configuration builder; finish with {@link PoolConfig.Builder#start()} to get a running pool} */
    static PoolConfig.Builder builder() {
        return PoolConfig.builder();
    }

    /**
     * Starts a pool: launches every worker and returns once each has completed its handshake.
     *
     * @param config the configuration, from {@link PoolConfig.Builder#build()}
     * @return the running pool; close it when done
     * @throws WorkerStartupException if a worker cannot start; no worker is left running
     */
    static WorkerPool start(PoolConfig config) {
        Objects.requireNonNull(config, "config");
        return WorkerPoolProvider.load().start(config);
    }

    /** {@return the pool's name} */
    String name();

    /** {@return the configuration the pool was started with} */
    PoolConfig config();

    /** {@return the pool's current state} */
    PoolState state();

    /**
     * Queues a task. Returns at once; the handle's future completes when the task ends.
     *
     * @param request the task to run
     * @return the task's handle
     * @throws TaskRejectedException if the pool is shut down, the queue is full, the payload cannot be written as
     *                               JSON or is larger than the frame limit, no worker serves the task's type, or
     *                               the request's id is in use
     */
    TaskHandle submitTask(TaskRequest request);

    /**
     * Shorthand for {@code submitTask(TaskRequest.of(type, payload))}.
     *
     * @param type    the task type
     * @param payload the task's input, written as JSON; may be {@code null}
     * @return the task's handle
     */
    default TaskHandle submitTask(String type, Object payload) {
        return submitTask(TaskRequest.of(type, payload));
    }

    /** {@return snapshots of the pool's current workers (not those already dead), in id order} */
    List<WorkerSnapshot> workers();

    /**
     * A snapshot of one current worker.
     *
     * @param workerId the worker's id, as in {@link WorkerSnapshot#id()}
     * @return the worker's snapshot, or empty if no current worker has this id
     */
    Optional<WorkerSnapshot> worker(String workerId);

    /** {@return a snapshot of the whole pool: size, state, worker and task counts, performance, health, queue} */
    PoolSnapshot snapshot();

    /**
     * The last lines a task wrote (its worker's stderr and log lines while it ran), kept for
     * {@link PoolConfig#outputRetention()} after it ended.
     *
     * @param taskId   the task's id
     * @param maxLines at most this many of the last lines; positive
     * @return the lines, or empty if the task is unknown, wrote nothing, or its output has expired
     */
    Optional<List<String>> taskOutput(String taskId, int maxLines);

    /**
     * What the pool knows of a task, by id: its state, attempts with their forensics, and its result or failure.
     * With a durable task store, any task of the pool's store (submitted by any host, ended ones within the
     * store's retention); in memory, the tasks this pool holds and those that ended within its output retention.
     *
     * @param taskId the task's id
     * @return the task, or empty if the pool does not know it
     */
    Optional<TaskInfo> task(String taskId);

    /**
     * A handle on a task submitted earlier, here or (with a shared durable store) by another host: to wait for
     * its outcome or cancel it. Its future completes when the task ends wherever it runs; for a task that has
     * already ended, at once.
     *
     * @param taskId the task's id
     * @return a handle, or empty if the pool does not know the task
     */
    Optional<TaskHandle> handle(String taskId);

    /**
     * Submits every request, waits until every task has ended, and returns each one's outcome in request order.
     * The listener (may be {@code null}) hears done / failed / total after each task ends, on a pool thread.
     * Requests the pool refuses count as failed outcomes; nothing is thrown for them.
     *
     * @param requests the tasks to run
     * @param listener hears the progress of the batch; may be {@code null}
     * @return every task's outcome, in request order
     * @throws InterruptedException if interrupted while waiting
     */
    BatchResult submitAll(List<TaskRequest> requests, BatchListener listener) throws InterruptedException;

    /**
     * Adds {@code count} workers to a group now (raising its maximum if needed).
     *
     * @param group the group's name
     * @param count how many workers to add; positive
     * @throws IllegalArgumentException if there is no such group or count is not positive
     */
    void scaleUp(String group, int count);

    /**
     * Removes {@code count} workers from a group (lowering its minimum if needed): idle workers first; busy ones
     * retire after their current task.
     *
     * @param group the group's name
     * @param count how many workers to remove; positive
     * @throws IllegalArgumentException if there is no such group, or count is not positive or more than the group
     *                                  has
     */
    void scaleDown(String group, int count);

    /** {@return the dead-letter queue: tasks that failed for good, with their forensics} */
    DeadLetterQueue deadLetters();

    /** {@return the pool's health now: the status and the alerts behind it} */
    PoolHealth health();

    /**
     * Registers a listener for the pool's events from now on.
     *
     * @param listener the listener to register
     */
    void addListener(PoolListener listener);

    /**
     * Unregisters a listener; returns whether it was registered.
     *
     * @param listener the listener to remove
     * @return {@code true} if it was registered
     */
    boolean removeListener(PoolListener listener);

    /**
     * Stops accepting tasks and lets queued and running tasks finish; the workers stop afterwards. Returns at
     * once; use {@link #awaitTermination(Duration)} to wait. Idempotent.
     */
    void shutdown();

    /**
     * Stops accepting tasks, cancels running tasks, stops the workers, and returns the requests that never
     * started (their futures fail with {@link FailureReason#CANCELLED}). Waits, bounded by the stop grace
     * periods, until every worker process has exited.
     *
     * @return the requests that never started
     */
    List<TaskRequest> shutdownNow();

    /**
     * Waits until the pool is {@link PoolState#TERMINATED} (all tasks ended, all workers exited) or the timeout
     * passes.
     *
     * @param timeout the longest wait
     * @return whether the pool terminated in time
     * @throws InterruptedException if interrupted while waiting
     */
    boolean awaitTermination(Duration timeout) throws InterruptedException;

    /**
     * {@link #shutdown()}, a wait of at most {@link PoolConfig#shutdownTimeout()}, then {@link #shutdownNow()}.
     * Returns when every worker process has exited. Idempotent.
     */
    @Override
    void close();
}
