package dev.procpool.core.internal.protocol;

import java.util.List;

/** The closed set of protocol frames (see PROTOCOL.md). Payloads and results stay raw JSON bytes. */
public sealed interface Frame {

    /** The worker is up. {@code taskTypes} empty means it serves any type. */
    record Ready(long pid, int protocol, List<String> taskTypes, List<String> capabilities, int maxConcurrency)
            implements Frame {
    }

    /** A sign of life with optional memory figures (0 when absent). */
    record Heartbeat(long rssBytes, long heapUsedBytes, long heapMaxBytes) implements Frame {
    }

    /**
     * A task's successful answer; {@code result} is the raw JSON value, {@code runNanos} the time the worker says it
     * spent on the task, or -1 when it did not say.
     */
    record Result(String id, byte[] result, long runNanos) implements Frame {
        public Result(String id, byte[] result) {
            this(id, result, -1);
        }
    }

    /** A task's failure as the worker reports it; {@code runNanos} as in {@link Result}. */
    record Error(String id, String kind, String errorClass, String message, String stack, boolean retryable,
                 long runNanos) implements Frame {
        public Error(String id, String kind, String errorClass, String message, String stack, boolean retryable) {
            this(id, kind, errorClass, message, stack, retryable, -1);
        }
    }

    /** Progress of a running task. */
    record Progress(String id, double fraction, String message) implements Frame {
    }

    /** A log line sent as a frame. */
    record Log(String level, String message, String id) implements Frame {
    }

    /** Host → worker: run a task. {@code timeoutMs} is 0 when the task has no timeout. */
    record Task(String id, String taskType, int attempt, long timeoutMs, byte[] payload) implements Frame {
    }

    /** Host → worker: stop a task. */
    record Cancel(String id) implements Frame {
    }

    /** Host → worker: exit. */
    record Shutdown() implements Frame {
    }

    /** A well-formed frame of a type this version does not know; ignored. */
    record Unknown(String type) implements Frame {
    }

    /**
     * A line that is not a valid frame but is recognisably the answer to a task: its top-level members say
     * {@code "type":"result"} or {@code "error"} and carry a string {@code "id"}, but something else in it breaks the
     * protocol (malformed JSON, a {@link FrameLimits limit}, a missing or wrong {@code "v"}, text after the object).
     * The host ends that task at once with {@code PROTOCOL_ERROR} rather than wait for an answer that already came.
     *
     * @param id   the task's id, as the line gives it
     * @param type {@code result} or {@code error}
     * @param why  what is wrong with the line
     * @param text the start of the line, for logs (at most {@link NotAFrame#MAX_TEXT_BYTES} bytes)
     */
    record UnreadableAnswer(String id, String type, String why, String text) implements Frame {
    }

    /**
     * A line that is not a frame at all (not JSON, not an object, no type, or missing required members);
     * {@code text} is the start of the line, for logs.
     */
    record NotAFrame(String why, String text) implements Frame {
        /** How much of the line {@link #text} keeps, in bytes. */
        public static final int MAX_TEXT_BYTES = 300;
    }
}
