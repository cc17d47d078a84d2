package dev.procpool.core.worker;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.procpool.TaskContext;
import dev.procpool.core.internal.protocol.Frame;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Optional;

/** The context of one task inside a worker (a Java worker process, or an in-process worker). */
public final class WorkerTaskContext implements TaskContext {
    private final Frame.Task task;
    private final ObjectMapper mapper;
    private final Instant deadline;
    private volatile boolean cancelled;

    public WorkerTaskContext(Frame.Task task, ObjectMapper mapper) {
        this.task = task;
        this.mapper = mapper;
        this.deadline = task.timeoutMs() > 0 ? Instant.now().plusMillis(task.timeoutMs()) : null;
    }

    @Override
    public String taskId() {
        return task.id();
    }

    @Override
    public String taskType() {
        return task.taskType();
    }

    @Override
    public int attempt() {
        return task.attempt();
    }

    @Override
    public <T> T payload(Class<T> type) {
        try {
            return mapper.readValue(task.payload(), type);
        } catch (IOException e) {
            throw new IllegalArgumentException("the payload of task " + task.id() + " cannot be read as "
                    + type.getName() + ": " + e.getMessage(), e);
        }
    }

    @Override
    public String payloadJson() {
        return new String(task.payload(), StandardCharsets.UTF_8);
    }

    @Override
    public Optional<Instant> deadline() {
        return Optional.ofNullable(deadline);
    }

    @Override
    public boolean isCancelled() {
        return cancelled;
    }

    public void cancel() {
        cancelled = true;
    }
}
