package dev.procpool.core.internal.worker;

import dev.procpool.NonRetryableException;
import dev.procpool.PayloadCodec;
import dev.procpool.TaskHandler;
import dev.procpool.core.internal.protocol.Frame;
import dev.procpool.core.internal.protocol.FrameCodec;
import dev.procpool.core.internal.protocol.FrameLimitException;
import dev.procpool.core.internal.protocol.Payloads;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * Creates a worker's handlers and runs one task through them, producing the answer frame. Shared by the Java
 * worker runtime and the in-process worker, so both answer exactly alike. Each handler reads its payloads and writes
 * its results with its own codec ({@link TaskHandler#payloadCodec()}, asked once). Thread-safe if the handlers are.
 */
public final class HandlerInvoker {
    private static final int MAX_STACK_CHARS = 16 * 1024;
    /** An error message longer than this is cut: it is for people, and must stay within every string limit. */
    static final int MAX_MESSAGE_CHARS = 64 * 1024;

    private final FrameCodec codec;
    private final Map<String, TaskHandler> handlers;
    /** The payload codec of each task type: its handler's. */
    private final Map<String, PayloadCodec> payloads;
    private final int maxFrameBytes;

    /**
     * @throws IllegalArgumentException if a handler's {@link TaskHandler#payloadCodec()} throws or returns null
     */
    public HandlerInvoker(FrameCodec codec, Map<String, TaskHandler> handlers, int maxFrameBytes) {
        this.codec = codec;
        this.handlers = Map.copyOf(handlers);
        this.payloads = payloadCodecs(this.handlers);
        this.maxFrameBytes = maxFrameBytes;
    }

    private static Map<String, PayloadCodec> payloadCodecs(Map<String, TaskHandler> handlers) {
        Map<TaskHandler, PayloadCodec> byHandler = new IdentityHashMap<>();
        Map<String, PayloadCodec> byType = new HashMap<>();
        handlers.forEach((taskType, handler) -> byType.put(taskType, byHandler.computeIfAbsent(handler, h -> {
            Optional<PayloadCodec> own;
            try {
                own = h.payloadCodec();
            } catch (RuntimeException e) {
                throw new IllegalArgumentException("handler " + h.getClass().getName() + " could not give its "
                        + "payload codec: payloadCodec() threw " + e, e);
            }
            if (own == null) {
                throw new IllegalArgumentException("handler " + h.getClass().getName() + " returned null from "
                        + "payloadCodec(); return Optional.empty() for the built-in codec");
            }
            return own.orElse(Payloads.BUILT_IN);
        })));
        return Map.copyOf(byType);
    }

    /**
     * The context of a task, reading its payload with the codec of the handler that will run it (the built-in one
     * for a type no handler serves).
     */
    public WorkerTaskContext context(Frame.Task task, Consumer<byte[]> frames, WorkerControls controls) {
        return new WorkerTaskContext(task, codec, payloads.getOrDefault(task.taskType(), Payloads.BUILT_IN), frames,
                controls);
    }

    /**
     * Creates one instance of each handler class, keyed by the task types it serves.
     *
     * @throws IllegalArgumentException naming the class and the problem (missing, not a handler, no public
     *                                  no-argument constructor, constructor failed, no types, a type served twice)
     */
    public static Map<String, TaskHandler> createHandlers(List<String> classNames) {
        Map<String, TaskHandler> handlers = new LinkedHashMap<>();
        for (String className : classNames) {
            TaskHandler handler;
            try {
                Class<?> type = Class.forName(className, true, Thread.currentThread().getContextClassLoader());
                if (!TaskHandler.class.isAssignableFrom(type)) {
                    throw new IllegalArgumentException("class " + className + " does not implement "
                            + TaskHandler.class.getName());
                }
                handler = (TaskHandler) type.getConstructor().newInstance();
            } catch (ClassNotFoundException e) {
                throw new IllegalArgumentException("handler class " + className + " was not found on the classpath", e);
            } catch (java.lang.reflect.InvocationTargetException e) {
                throw new IllegalArgumentException("cannot create handler " + className + ": its constructor threw "
                        + e.getCause(), e.getCause());
            } catch (ReflectiveOperationException | LinkageError e) {
                throw new IllegalArgumentException("cannot create handler " + className + ": " + e, e);
            }
            if (handler.taskTypes() == null || handler.taskTypes().isEmpty()) {
                throw new IllegalArgumentException("handler " + className + " serves no task types; taskTypes() "
                        + "must not be empty");
            }
            for (String taskType : handler.taskTypes()) {
                TaskHandler previous = handlers.putIfAbsent(taskType, handler);
                if (previous != null) {
                    throw new IllegalArgumentException("task type \"" + taskType + "\" is served by both "
                            + previous.getClass().getName() + " and " + className + "; each type needs exactly one "
                            + "handler");
                }
            }
        }
        return handlers;
    }

    public List<String> taskTypes() {
        return List.copyOf(handlers.keySet());
    }

    /**
     * Runs the task and returns its answer frame: a result, or an error for an unknown type, a handler exception,
     * a result the handler's codec cannot write (with the built-in codec, an object with no properties to write), or
     * a result the host could not read back (over the frame limit, or breaking one of the codec's
     * {@link FrameCodec#limits() limits}, such as a number of more than 1000 digits): the host must never receive a
     * frame it would refuse, or the task would never end. An {@link OutOfMemoryError} is thrown on: the caller
     * decides what to do.
     */
    public byte[] invoke(WorkerTaskContext context) {
        String id = context.taskId();
        long start = System.nanoTime(); // the time spent goes with the answer: the host sizes its send-ahead by it
        try {
            TaskHandler handler = handlers.get(context.taskType());
            if (handler == null) {
                return codec.encodeError(id, "UNKNOWN_TASK_TYPE", "UnknownTaskType", "no handler serves task type \""
                        + context.taskType() + "\"; this worker serves " + handlers.keySet(), "", false);
            }
            Object value = handler.handle(context);
            PayloadCodec payloads = this.payloads.get(context.taskType());
            byte[] result;
            try {
                result = Payloads.write(payloads, value);
            } catch (IOException | RuntimeException e) { // the codec may be the application's
                // the same value would fail the same way: not retryable
                return errorFrame(id, "ResultNotWritable", "the result of task " + id + " (" + Payloads.typeOf(value)
                        + ") cannot be written as JSON by " + payloads + ": " + e.getMessage(), e, false, start);
            }
            try {
                codec.checkValue(result);
            } catch (FrameLimitException e) {
                return codec.encodeError(id, "HANDLER_ERROR", "FrameLimitExceeded", "the result of task " + id
                        + " cannot be sent in a frame: " + e.getMessage(), "", false);
            }
            byte[] answer = codec.encodeResult(id, result, System.nanoTime() - start);
            if (answer.length > maxFrameBytes) {
                return codec.encodeError(id, "HANDLER_ERROR", "FrameTooLarge", "the result of task " + id + " is "
                        + answer.length + " bytes as a frame, over the frame limit of " + maxFrameBytes, "", false);
            }
            return answer;
        } catch (OutOfMemoryError e) {
            throw e;
        } catch (Throwable e) {
            return errorFrame(id, e.getClass().getName(), e.getMessage(), e, !(e instanceof NonRetryableException),
                    start);
        }
    }

    /** A handler error within the frame limit: message and stack are cut, then left out, until it fits. */
    private byte[] errorFrame(String id, String errorClass, String message, Throwable error, boolean retryable,
                              long start) {
        String stack = stackText(error);
        long runNanos = System.nanoTime() - start;
        byte[] frame = codec.encodeError(id, "HANDLER_ERROR", errorClass, truncate(message, MAX_MESSAGE_CHARS),
                stack, retryable, runNanos);
        if (frame.length > maxFrameBytes) {
            frame = codec.encodeError(id, "HANDLER_ERROR", errorClass, truncate(message, 1024), "", retryable,
                    runNanos);
        }
        if (frame.length > maxFrameBytes) { // a limit of about 1 KiB: the class alone still fits
            frame = codec.encodeError(id, "HANDLER_ERROR", errorClass, "", "", retryable, runNanos);
        }
        return frame;
    }

    private static String stackText(Throwable error) {
        StringWriter text = new StringWriter();
        error.printStackTrace(new PrintWriter(text));
        return truncate(text.toString(), MAX_STACK_CHARS);
    }

    private static String truncate(String text, int max) {
        return text == null || text.length() <= max ? text : text.substring(0, max) + "…";
    }
}
