package dev.procpool.core.internal.worker;

import dev.procpool.core.internal.protocol.FrameCodec;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.function.Consumer;

/**
 * What stands behind {@code System.out} and {@code System.err} in a worker JVM. On a thread running a task, each
 * line becomes a {@code log} frame carrying the task's id, so the host attributes output to the right task even
 * with several tasks in flight; on any other thread, bytes go to the real stderr.
 */
final class TaskOutputStream extends OutputStream {
    private static final int MAX_LINE_BYTES = 16 * 1024;
    private static final FrameCodec CODEC = new FrameCodec();
    private static final ThreadLocal<String> TASK = new ThreadLocal<>();
    private static final ThreadLocal<TaskOutputStream[]> OPEN = ThreadLocal.withInitial(() -> new TaskOutputStream[2]);

    private final String level;
    private final OutputStream fallback;
    private final Consumer<byte[]> frames;
    private final ThreadLocal<ByteArrayOutputStream> line = ThreadLocal.withInitial(ByteArrayOutputStream::new);

    TaskOutputStream(String level, OutputStream fallback, Consumer<byte[]> frames) {
        this.level = level;
        this.fallback = fallback;
        this.frames = frames;
    }

    /** The current thread starts running a task. */
    static void begin(String taskId) {
        TASK.set(taskId);
    }

    /** The current thread's task ends: partial lines are sent. */
    static void end() {
        for (TaskOutputStream stream : OPEN.get()) {
            if (stream != null) {
                stream.emitLine();
            }
        }
        OPEN.remove();
        TASK.remove();
    }

    @Override
    public void write(int b) throws IOException {
        if (TASK.get() == null) {
            fallback.write(b);
            return;
        }
        if (b == '\n') {
            emitLine();
            return;
        }
        ByteArrayOutputStream buffer = line.get();
        if (buffer.size() == 0) {
            TaskOutputStream[] open = OPEN.get();
            open["INFO".equals(level) ? 0 : 1] = this;
        }
        buffer.write(b);
        if (buffer.size() >= MAX_LINE_BYTES) {
            emitLine();
        }
    }

    @Override
    public void write(byte[] bytes, int offset, int length) throws IOException {
        if (TASK.get() == null) {
            fallback.write(bytes, offset, length);
            return;
        }
        for (int i = offset; i < offset + length; i++) {
            write(bytes[i]);
        }
    }

    @Override
    public void flush() throws IOException {
        if (TASK.get() == null) {
            fallback.flush();
        }
    }

    private void emitLine() {
        ByteArrayOutputStream buffer = line.get();
        if (buffer.size() == 0) {
            return;
        }
        String text = buffer.toString(StandardCharsets.UTF_8);
        buffer.reset();
        if (text.endsWith("\r")) {
            text = text.substring(0, text.length() - 1);
        }
        frames.accept(CODEC.encodeLog(level, text, TASK.get()));
    }
}
