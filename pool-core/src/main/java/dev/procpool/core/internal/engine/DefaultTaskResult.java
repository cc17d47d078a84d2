package dev.procpool.core.internal.engine;

import dev.procpool.PayloadCodec;
import dev.procpool.ProcPoolException;
import dev.procpool.TaskResult;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;

/** A task's result; the JSON stays raw until the caller reads it, with the pool's payload codec. */
final class DefaultTaskResult implements TaskResult {
    private final String taskId;
    private final String taskType;
    private final byte[] json;
    private final String workerId;
    private final long workerPid;
    private final int attempt;
    /** Durations are made when asked for: most callers never look at them. */
    private final long queueNanos;
    private final long runNanos;
    private final List<String> output;
    private final PayloadCodec payloads;

    DefaultTaskResult(String taskId, String taskType, byte[] json, String workerId, long workerPid, int attempt,
                      long queueNanos, long runNanos, List<String> output, PayloadCodec payloads) {
        this.taskId = taskId;
        this.taskType = taskType;
        this.json = json;
        this.workerId = workerId;
        this.workerPid = workerPid;
        this.attempt = attempt;
        this.queueNanos = queueNanos;
        this.runNanos = runNanos;
        this.output = output;
        this.payloads = payloads;
    }

    @Override
    public String taskId() {
        return taskId;
    }

    @Override
    public String taskType() {
        return taskType;
    }

    @Override
    public <T> T as(Class<T> type) {
        try {
            return payloads.decode(json, type);
        } catch (IOException | RuntimeException e) { // the codec may be the application's
            throw new ProcPoolException("the result of task " + taskId + " cannot be read as " + type.getName()
                    + ": " + e.getMessage(), e);
        }
    }

    @Override
    public String json() {
        return new String(json, StandardCharsets.UTF_8);
    }

    @Override
    public String workerId() {
        return workerId;
    }

    @Override
    public long workerPid() {
        return workerPid;
    }

    @Override
    public int attempt() {
        return attempt;
    }

    @Override
    public Duration queueTime() {
        return Duration.ofNanos(queueNanos);
    }

    @Override
    public Duration runTime() {
        return Duration.ofNanos(runNanos);
    }

    @Override
    public List<String> output() {
        return output;
    }

    @Override
    public String toString() {
        return "TaskResult{task=" + taskId + ", worker=" + workerId + ", attempt=" + attempt + ", json="
                + (json.length > 200 ? json().substring(0, 200) + "…" : json()) + '}';
    }
}
