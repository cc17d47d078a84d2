package dev.procpool;

import java.time.Duration;

/**
 * The successful outcome of a task: the value the handler returned, as JSON, and where and how it ran.
 * Instances are immutable and safe to share between threads.
 */
public interface TaskResult {
    /** {@return the id of the task} */
    String taskId();

    /** {@return the type of the task} */
    String taskType();

    /**
     * The result read as the given type (a record, a map, {@code String}, {@code Integer}, ...), with the pool's
     * {@link PoolConfig#payloadCodec() payload codec}.
     *
     * @param <T>  the type to read
     * @param type the class of that type
     * @return the result as that type
     * @throws ProcPoolException if the result's JSON does not fit the type
     */
    <T> T as(Class<T> type);

    /** {@return the result as JSON text exactly as the worker sent it} */
    String json();

    /** {@return the id of the worker that produced the result, for example {@code w-3}} */
    String workerId();

    /** {@return the operating-system pid of the worker process that produced the result} */
    long workerPid();

    /** {@return the attempt that succeeded, counting from 1} */
    int attempt();

    /** {@return how long the task waited in the queue before its successful attempt was dispatched} */
    Duration queueTime();

    /** {@return how long the successful attempt took, from dispatch to result} */
    Duration runTime();

    /**
     * {@return what the task wrote while it ran (stderr and log lines), at most the pool's per-task limit, oldest
     * first}
     */
    java.util.List<String> output();
}
