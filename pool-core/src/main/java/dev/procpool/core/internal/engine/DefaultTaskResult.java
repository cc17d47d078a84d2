package dev.procpool.core.internal.engine;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.JsonSerializable;
import com.fasterxml.jackson.databind.SerializerProvider;
import com.fasterxml.jackson.databind.jsontype.TypeSerializer;
import com.fasterxml.jackson.databind.util.RawValue;
import dev.procpool.PayloadCodec;
import dev.procpool.core.internal.protocol.Payloads;
import dev.procpool.ProcPoolException;
import dev.procpool.TaskResult;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;

/**
 * A task's result; the JSON stays raw until the caller reads it, with the pool's payload codec. It writes itself as
 * JSON with any Jackson mapper, as the public records do ({@link #serialize}).
 */
final class DefaultTaskResult implements TaskResult, JsonSerializable {
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
            return Payloads.read(payloads, json, type);
        } catch (IOException | RuntimeException e) { // the codec may be the application's
            throw new ProcPoolException("the result of task " + taskId + " cannot be read as " + type.getName()
                    + ": " + e.getMessage(), e);
        }
    }

    @Override
    public String json() {
        return new String(json, StandardCharsets.UTF_8);
    }

    /** The length of the result's JSON in bytes, without copying it. */
    int jsonBytes() {
        return json.length;
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

    /**
     * Writes what {@link TaskResult} tells, the result as the JSON value itself, and the durations as the mapper
     * writes a {@link Duration} (it needs {@code JavaTimeModule}, as the public records do). Without this a result
     * would be an object with no properties, which Jackson refuses.
     */
    @Override
    public void serialize(JsonGenerator gen, SerializerProvider serializers) throws IOException {
        gen.writeStartObject(this);
        gen.writeStringField("taskId", taskId);
        gen.writeStringField("taskType", taskType);
        serializers.defaultSerializeField("result", new RawValue(json()), gen);
        gen.writeStringField("workerId", workerId);
        gen.writeNumberField("workerPid", workerPid);
        gen.writeNumberField("attempt", attempt);
        serializers.defaultSerializeField("queueTime", queueTime(), gen);
        serializers.defaultSerializeField("runTime", runTime(), gen);
        serializers.defaultSerializeField("output", output, gen);
        gen.writeEndObject();
    }

    /** No type information: a result is a value to read, never one to read back as a Java type. */
    @Override
    public void serializeWithType(JsonGenerator gen, SerializerProvider serializers, TypeSerializer typeSer)
            throws IOException {
        serialize(gen, serializers);
    }

    @Override
    public String toString() {
        return "TaskResult{task=" + taskId + ", worker=" + workerId + ", attempt=" + attempt + ", json="
                + (json.length > 200 ? json().substring(0, 200) + "…" : json()) + '}';
    }
}
