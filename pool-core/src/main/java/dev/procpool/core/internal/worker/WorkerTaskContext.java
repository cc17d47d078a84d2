package dev.procpool.core.internal.worker;

import dev.procpool.PayloadCodec;
import dev.procpool.TaskContext;
import dev.procpool.core.internal.protocol.Frame;
import dev.procpool.core.internal.protocol.FrameCodec;
import dev.procpool.core.internal.protocol.Payloads;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Optional;
import java.util.function.Consumer;

/** The context of one task inside a worker (a Java worker process, or an in-process worker). */
public final class WorkerTaskContext implements TaskContext {
    /** Longer progress messages are cut (6 bytes a character at worst: under 1 KiB, the smallest frame limit). */
    static final int MAX_PROGRESS_MESSAGE_CHARS = 100;
    private final Frame.Task task;
    /** The codec of the handler that runs the task. */
    private final PayloadCodec payloads;
    private final FrameCodec codec;
    private final Consumer<byte[]> frames;
    private final Instant deadline;
    private final WorkerControls controls;
    private volatile boolean cancelled;

    /**
     * A context that reads its payload with the built-in codec.
     *
     * @param task   the task frame
     * @param codec  for writing progress frames
     * @param frames where frames this context produces (progress) are sent
     */
    public WorkerTaskContext(Frame.Task task, FrameCodec codec, Consumer<byte[]> frames) {
        this(task, codec, Payloads.BUILT_IN, frames, WorkerControls.NONE);
    }

    /**
     * As above, with the codec of the handler that runs the task ({@link HandlerInvoker#context}), and what the
     * worker lets the fault-injection handler do to it.
     */
    public WorkerTaskContext(Frame.Task task, FrameCodec codec, PayloadCodec payloads, Consumer<byte[]> frames,
                             WorkerControls controls) {
        this.controls = controls;
        this.task = task;
        this.codec = codec;
        this.payloads = payloads;
        this.frames = frames;
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
            return Payloads.read(payloads, task.payload(), type);
        } catch (IOException | RuntimeException e) { // the codec may be the application's
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

    @Override
    public void progress(double fraction, String message) {
        double clamped = Double.isNaN(fraction) ? 0 : Math.max(0, Math.min(1, fraction));
        // a progress message is for a status line: cut it so the frame stays far below any frame limit
        String shown = message == null || message.length() <= MAX_PROGRESS_MESSAGE_CHARS ? message
                : message.substring(0, MAX_PROGRESS_MESSAGE_CHARS) + "…";
        frames.accept(codec.encodeProgress(task.id(), clamped, shown));
    }

    /** What the worker lets the fault-injection handler do to it. */
    public WorkerControls controls() {
        return controls;
    }

    public void cancel() {
        cancelled = true;
    }
}
