package dev.procpool.core.internal.protocol;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.io.JsonStringEncoder;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Encodes and decodes protocol frames. Decoding reads the line's bytes in place with a {@link JsonScanner} (no
 * parser, no tree), and keeps payloads and results as raw JSON slices, checked to be valid JSON, so the host never
 * materializes them unless the caller reads them.
 * Thread-safe.
 *
 * <p>Over 600 lines on purpose: both directions of the one wire format live here, so that the member names, the
 * exact frame sizes the hot path relies on ({@link #taskFrameBytes}) and the reader's reused state stay in one place
 * that a protocol change edits once.
 */
public final class FrameCodec {
    /** The protocol version this codec speaks. */
    public static final int PROTOCOL_VERSION = 1;

    private static final byte[] NULL_JSON = "null".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] NOTHING = new byte[0];

    /**
     * The mapper of {@link #toJson}; the built-in one is made at its first use, since a fresh worker spends tens of
     * milliseconds building one (Jackson's date formats load locale data) and frames need only the factory.
     */
    private volatile ObjectMapper mapper;
    private final JsonFactory factory;
    private final FrameLimits limits;

    /** A codec with the built-in mapper ({@link #newMapper()}), made when first needed. */
    public FrameCodec() {
        // Jackson's default factory and limits: what the built-in mapper has
        this(null, new JsonFactory(), FrameLimits.DEFAULT);
    }

    /** A codec with this mapper: its factory, and its own read limits, so a raw value accepted here reads with it. */
    public FrameCodec(ObjectMapper mapper) {
        this(mapper, mapper.getFactory(), FrameLimits.of(mapper));
    }

    private FrameCodec(ObjectMapper mapper, JsonFactory factory, FrameLimits limits) {
        this.mapper = mapper;
        this.factory = factory;
        this.limits = limits;
        this.decoding = ThreadLocal.withInitial(() -> new Decoding(limits));
    }

    /**
     * The built-in mapper of payloads and results (where no {@code PayloadCodec} is set), whose factory and read limits
     * the frames also use. Jackson's defaults, so a value with nothing to write (an object without properties) is
     * refused rather than sent as {@code {}}, with one exception: unknown properties are ignored when reading, so a
     * worker in another language may add members to a result without breaking its readers. Default typing is off (it
     * is off unless enabled, and nothing here enables it), so no class name is ever read from the wire.
     */
    public static ObjectMapper newMapper() {
        return JsonMapper.builder()
                .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
                .build();
    }

    public ObjectMapper mapper() {
        ObjectMapper made = mapper;
        if (made == null) {
            synchronized (this) {
                if (mapper == null) {
                    mapper = newMapper();
                }
                made = mapper;
            }
        }
        return made;
    }

    /** The limits every frame this codec reads must keep to, besides the frame length. */
    public FrameLimits limits() {
        return limits;
    }

    /**
     * Checks that a payload or result, as JSON, can travel as a member of a frame and be read back by this codec:
     * one JSON value within the {@link #limits()}, counting the frame's own object as one level of nesting. The
     * host checks a payload with it at submit, and the Java worker runtime a result before sending it, so that
     * neither side sends what the other would refuse.
     *
     * @throws FrameLimitException naming the limit broken (or the JSON error) and the byte where it was found
     */
    public void checkValue(byte[] json) throws FrameLimitException {
        if (Payloads.isPlainString(json) && json.length - 2 <= limits.maxStringBytes()) {
            return; // the usual payload, a short string: nothing to nest, escape or measure but its length
        }
        JsonScanner in = new JsonScanner(json, limits);
        in.enclosedIn(1); // the frame's own object
        try {
            in.skipValue();
            if (in.peek() != -1) {
                throw new FrameLimitException("text after the JSON value at byte " + in.position());
            }
        } catch (JsonScanner.MalformedJsonException e) {
            throw new FrameLimitException(e.getMessage() + " at byte " + in.position()
                    + " of the value (PROTOCOL.md, \"Limits\")");
        }
    }

    // ---------------------------------------------------------------- decoding

    /** The members a frame may have; any other member is skipped. */
    private enum Member {
        V("v"), TYPE("type"), ID("id"), PID("pid"), PROTOCOL("protocol"), MAX_CONCURRENCY("maxConcurrency"),
        TASK_TYPES("taskTypes"), CAPABILITIES("capabilities"), RSS_BYTES("rssBytes"),
        HEAP_USED_BYTES("heapUsedBytes"), HEAP_MAX_BYTES("heapMaxBytes"), RESULT("result"), PAYLOAD("payload"),
        KIND("kind"), ERROR_CLASS("errorClass"), MESSAGE("message"), STACK("stack"), RETRYABLE("retryable"),
        TASK_TYPE("taskType"), ATTEMPT("attempt"), TIMEOUT_MS("timeoutMs"), FRACTION("fraction"), LEVEL("level"),
        RUN_NANOS("runNanos");

        static final Member[] ALL = values();
        /** The names as bytes, in the order of {@link #ALL}, for {@link JsonScanner#readMember}. */
        static final byte[][] NAMES = new byte[ALL.length][];

        static {
            for (Member member : ALL) {
                NAMES[member.ordinal()] = member.name.getBytes(StandardCharsets.US_ASCII);
            }
        }

        private final String name;

        Member(String name) {
            this.name = name;
        }
    }

    /** The frame types, as the same String instances every time: an answer's type is not a new String each. */
    private static final String[] TYPES = {"result", "error", "heartbeat", "progress", "log", "ready", "task",
        "cancel", "shutdown"};
    private static final byte[][] TYPE_NAMES = new byte[TYPES.length][];

    static {
        for (int i = 0; i < TYPES.length; i++) {
            TYPE_NAMES[i] = TYPES[i].getBytes(StandardCharsets.US_ASCII);
        }
    }

    /** Decodes one line. Never throws: anything that is not a frame becomes {@link Frame.NotAFrame}. */
    public Frame decode(byte[] line) {
        return decode(line, line.length);
    }

    /**
     * Decodes the line {@code buffer[0, length)}; the buffer may be reused afterwards, as nothing refers to it.
     * Never throws: anything that is not a frame becomes {@link Frame.NotAFrame}.
     */
    public Frame decode(byte[] buffer, int length) {
        Frame frame = decodeFrame(buffer, length);
        if (frame instanceof Frame.NotAFrame notAFrame) {
            // the start of the line, for the log
            int kept = Math.min(length, Frame.NotAFrame.MAX_TEXT_BYTES);
            String text = new String(buffer, 0, kept, StandardCharsets.UTF_8);
            Frame.UnreadableAnswer answer = unreadableAnswer(buffer, length, notAFrame.why(), text);
            return answer != null ? answer : new Frame.NotAFrame(notAFrame.why(), text);
        }
        return frame;
    }

    /**
     * A line that is not a frame, read again leniently: if its top-level members name a {@code result} or
     * {@code error} and a string {@code id}, it is the answer to that task, however broken the rest is.
     */
    private Frame.UnreadableAnswer unreadableAnswer(byte[] line, int length, String why, String text) {
        JsonScanner in = new JsonScanner(line, length, limits);
        String type = null;
        String id = null;
        try {
            in.expect('{');
            if (in.peek() != '}') {
                do {
                    String name = in.readString();
                    in.expect(':');
                    if (name.equals("type") && type == null && in.peek() == '"') {
                        type = in.readString();
                    } else if (name.equals("id") && id == null && in.peek() == '"') {
                        id = in.readString();
                    } else {
                        in.skipLeniently();
                    }
                } while (in.consume(','));
            }
        } catch (JsonScanner.MalformedJsonException e) {
            // keep what was read before the line broke off
        }
        if (id == null || !("result".equals(type) || "error".equals(type))) {
            return null;
        }
        return new Frame.UnreadableAnswer(id, type, why, text);
    }

    /**
     * A reading thread's scanner and members, reused from frame to frame: a host reads hundreds of thousands of answers
     * a second, and these were most of the garbage its reader threads made. Nothing refers to them after a decode.
     */
    private static final class Decoding {
        final JsonScanner in;
        final Fields fields = new Fields();

        Decoding(FrameLimits limits) {
            in = new JsonScanner(NOTHING, 0, limits);
            fields.reset();
        }
    }

    private final ThreadLocal<Decoding> decoding;

    private Frame decodeFrame(byte[] line, int length) {
        Decoding reused = decoding.get();
        JsonScanner in = reused.in;
        in.reset(line, length);
        Fields f = reused.fields;
        try {
            if (in.peek() != '{') {
                return notAFrame("not a JSON object");
            }
            in.open('{');
            if (in.peek() != '}') {
                do {
                    int index = in.readMember(Member.NAMES);
                    in.expect(':');
                    if (index < 0) {
                        in.skipValue();
                        continue;
                    }
                    switch (Member.ALL[index]) {
                        case V -> f.version = integer(in);
                        case TYPE -> f.type = type(in);
                        case ID -> f.id = text(in);
                        case PID -> f.pid = number(in);
                        case PROTOCOL -> f.protocol = integer(in);
                        case MAX_CONCURRENCY -> f.maxConcurrency = integer(in);
                        case TASK_TYPES -> f.taskTypes = strings(in);
                        case CAPABILITIES -> f.capabilities = strings(in);
                        case RSS_BYTES -> f.rss = number(in);
                        case HEAP_USED_BYTES -> f.heapUsed = number(in);
                        case HEAP_MAX_BYTES -> f.heapMax = number(in);
                        case RESULT -> f.result = raw(in, line);
                        case PAYLOAD -> f.payload = raw(in, line);
                        case KIND -> f.kind = text(in);
                        case ERROR_CLASS -> f.errorClass = text(in);
                        case MESSAGE -> f.message = text(in);
                        case STACK -> f.stack = text(in);
                        case RETRYABLE -> {
                            f.retryable = !in.atFalse();
                            in.skipValue();
                        }
                        case TASK_TYPE -> f.taskType = text(in);
                        case ATTEMPT -> f.attempt = integer(in);
                        case TIMEOUT_MS -> f.timeoutMs = number(in);
                        case FRACTION -> f.fraction = in.atNumber() ? in.readDouble() : skip(in);
                        case LEVEL -> f.level = text(in);
                        case RUN_NANOS -> f.runNanos = number(in);
                        default -> throw new AssertionError("every member is handled");
                    }
                } while (in.consume(','));
            }
            in.close('}');
            if (in.peek() != -1) {
                return notAFrame("text after the JSON object");
            }
            return f.toFrame();
        } catch (JsonScanner.MalformedJsonException e) {
            return notAFrame("not valid JSON: " + e.getMessage() + " at byte " + in.position());
        } finally {
            f.reset(); // nothing of this frame (a result of megabytes, the reader's buffer) stays reachable from here
            in.reset(NOTHING, 0);
        }
    }

    /** Why a line is not a frame; {@link #decode(byte[], int)} adds the line's text. */
    private static Frame.NotAFrame notAFrame(String why) {
        return new Frame.NotAFrame(why, null);
    }

    private static String text(JsonScanner in) throws JsonScanner.MalformedJsonException {
        if (in.peek() == '"') {
            return in.readString();
        }
        in.skipValue();
        return null;
    }

    private static String type(JsonScanner in) throws JsonScanner.MalformedJsonException {
        int known = in.readKnownString(TYPE_NAMES);
        return known >= 0 ? TYPES[known] : text(in);
    }

    /** Skips the current value; returns -1, the value of an absent number. */
    private static int skip(JsonScanner in) throws JsonScanner.MalformedJsonException {
        in.skipValue();
        return -1;
    }

    /** An integer member; -1 when it is not an integer or does not fit in an int. */
    private static int integer(JsonScanner in) throws JsonScanner.MalformedJsonException {
        long value = number(in);
        return value < Integer.MIN_VALUE || value > Integer.MAX_VALUE ? -1 : (int) value;
    }

    /** A whole-number member; -1 when it is not one or does not fit in a long. */
    private static long number(JsonScanner in) throws JsonScanner.MalformedJsonException {
        if (in.atNumber()) {
            return in.readLong(-1);
        }
        in.skipValue();
        return -1;
    }

    private static List<String> strings(JsonScanner in) throws JsonScanner.MalformedJsonException {
        if (in.peek() != '[') {
            in.skipValue();
            return List.of();
        }
        in.open('[');
        List<String> values = new ArrayList<>();
        if (in.peek() != ']') {
            do {
                if (in.peek() == '"') {
                    values.add(in.readString());
                } else {
                    in.skipValue();
                }
            } while (in.consume(','));
        }
        in.close(']');
        return List.copyOf(values);
    }

    /** The exact bytes of the next value, checked to be valid JSON. */
    private static byte[] raw(JsonScanner in, byte[] line) throws JsonScanner.MalformedJsonException {
        in.peek();
        int start = in.position();
        in.skipValue();
        return Arrays.copyOfRange(line, start, in.position());
    }

    /** The members read from one frame; {@link #reset()} before each (one instance per reading thread). */
    private static final class Fields {
        int version;
        String type;
        String id;
        long pid;
        int protocol;
        int maxConcurrency;
        List<String> taskTypes;
        List<String> capabilities;
        long rss;
        long heapUsed;
        long heapMax;
        byte[] result;
        byte[] payload;
        String kind;
        String errorClass;
        String message;
        String stack;
        boolean retryable;
        String taskType;
        int attempt;
        long timeoutMs;
        double fraction;
        String level;
        long runNanos;

        /** The values of absent members. */
        void reset() {
            version = -1;
            type = null;
            id = null;
            pid = -1;
            protocol = -1;
            maxConcurrency = 1;
            taskTypes = List.of();
            capabilities = List.of();
            rss = 0;
            heapUsed = 0;
            heapMax = 0;
            result = null;
            payload = null;
            kind = null;
            errorClass = null;
            message = null;
            stack = null;
            retryable = true;
            taskType = null;
            attempt = 1;
            timeoutMs = 0;
            fraction = 0;
            level = null;
            runNanos = -1;
        }

        Frame toFrame() {
            if (type == null) {
                return notAFrame("no \"type\" member");
            }
            if (version != PROTOCOL_VERSION) {
                return notAFrame("\"v\" is not " + PROTOCOL_VERSION);
            }
            return switch (type) {
                case "ready" -> pid <= 0 ? notAFrame("ready without a positive \"pid\"")
                        : new Frame.Ready(pid, protocol, taskTypes, capabilities, Math.max(1, maxConcurrency));
                case "heartbeat" -> new Frame.Heartbeat(Math.max(0, rss), Math.max(0, heapUsed), Math.max(0, heapMax));
                case "result" -> id == null ? missing("id")
                        : new Frame.Result(id, result == null ? NULL_JSON : result, runNanos);
                case "error" -> id == null ? missing("id")
                        : new Frame.Error(id, kind == null ? "HANDLER_ERROR" : kind,
                        errorClass == null ? "UnknownError" : errorClass, message, stack, retryable, runNanos);
                case "progress" -> id == null ? missing("id") : new Frame.Progress(id, fraction(fraction), message);
                case "log" -> new Frame.Log(level == null ? "INFO" : level, message == null ? "" : message, id);
                case "task" -> id == null || taskType == null ? missing("id or taskType")
                        : new Frame.Task(id, taskType, attempt, Math.max(0, timeoutMs),
                        payload == null ? NULL_JSON : payload);
                case "cancel" -> id == null ? missing("id") : new Frame.Cancel(id);
                case "shutdown" -> new Frame.Shutdown();
                default -> new Frame.Unknown(type);
            };
        }

        /** Progress as PROTOCOL.md promises it: within [0, 1]; absent, not a number or NaN is 0. */
        private static double fraction(double value) {
            return Double.isNaN(value) ? 0 : Math.max(0, Math.min(1, value));
        }

        private Frame missing(String member) {
            return notAFrame(type + " frame without " + member);
        }
    }

    // ---------------------------------------------------------------- encoding

    /** Serializes a payload or result value; the bytes are embedded raw in frames. */
    public byte[] toJson(Object value) throws JsonProcessingException {
        return mapper().writeValueAsBytes(value);
    }

    /** The bytes a task frame for these values will take, without building it. */
    public static int taskFrameOverhead(String id, String taskType) {
        // members and punctuation, plus escaped strings at worst 6 bytes per character
        return 96 + 6 * (id.length() + taskType.length());
    }

    private static final String TASK_START = "{\"v\":1,\"type\":\"task\",\"id\":";
    private static final String TASK_TYPE = ",\"taskType\":";
    private static final String TASK_ATTEMPT = ",\"attempt\":";
    private static final String TASK_TIMEOUT = ",\"timeoutMs\":";
    private static final String TASK_PAYLOAD = ",\"payload\":";
    private static final String RESULT_START = "{\"v\":1,\"type\":\"result\",\"id\":";
    private static final String RESULT_VALUE = ",\"result\":";
    private static final String RESULT_RUN_NANOS = ",\"runNanos\":";
    private static final String END = "}\n";

    /** A task frame with the payload embedded as raw JSON. */
    public byte[] encodeTask(String id, String taskType, int attempt, long timeoutMs, byte[] payloadJson) {
        int exact = taskFrameBytes(id, taskType, attempt, timeoutMs, payloadJson);
        // exact when the strings need no escaping (the usual case), so the array is not copied at the end
        FrameBytes out = new FrameBytes(exact >= 0 ? exact : taskFrameOverhead(id, taskType) + payloadJson.length);
        return writeTask(out, id, taskType, attempt, timeoutMs, payloadJson).toByteArray();
    }

    /**
     * The exact bytes of a task frame whose id and type need no escaping (the usual case), or -1: then only
     * {@link #encodeTask} writes it.
     */
    public static int taskFrameBytes(String id, String taskType, int attempt, long timeoutMs, byte[] payloadJson) {
        int idBytes = FrameBytes.plainStringBytes(id);
        int typeBytes = FrameBytes.plainStringBytes(taskType);
        return idBytes < 0 || typeBytes < 0 ? -1
                : TASK_START.length() + idBytes + TASK_TYPE.length() + typeBytes + TASK_ATTEMPT.length()
                + FrameBytes.digits(attempt) + (timeoutMs > 0 ? TASK_TIMEOUT.length() + FrameBytes.digits(timeoutMs) : 0)
                + TASK_PAYLOAD.length() + payloadJson.length + END.length();
    }

    /**
     * Writes a task frame into {@code into} at {@code at}, where exactly {@link #taskFrameBytes} (not -1) are free:
     * several frames for one worker go out in one array, without an array per frame.
     */
    public static void encodeTask(byte[] into, int at, String id, String taskType, int attempt, long timeoutMs,
                                  byte[] payloadJson) {
        FrameBytes out = writeTask(new FrameBytes(into, at), id, taskType, attempt, timeoutMs, payloadJson);
        if (out.bytes != into || out.length != at + taskFrameBytes(id, taskType, attempt, timeoutMs, payloadJson)) {
            // a frame that outgrew its room went to another array: sending this one would send a broken frame
            throw new IllegalStateException("procpool bug: task frame of " + id + " did not fill its room exactly");
        }
    }

    private static FrameBytes writeTask(FrameBytes out, String id, String taskType, int attempt, long timeoutMs,
                                        byte[] payloadJson) {
        out.ascii(TASK_START).string(id).ascii(TASK_TYPE).string(taskType).ascii(TASK_ATTEMPT).number(attempt);
        if (timeoutMs > 0) {
            out.ascii(TASK_TIMEOUT).number(timeoutMs);
        }
        return out.ascii(TASK_PAYLOAD).raw(payloadJson).ascii(END);
    }

    /** A result frame with the result embedded as raw JSON. */
    public byte[] encodeResult(String id, byte[] resultJson) {
        return encodeResult(id, resultJson, -1);
    }

    /**
     * A result frame with the result embedded as raw JSON and the time the worker spent on the task (left out when
     * negative): the host sizes its send-ahead window with it.
     */
    public byte[] encodeResult(String id, byte[] resultJson, long runNanos) {
        int idBytes = FrameBytes.plainStringBytes(id);
        int size = (idBytes < 0 ? 2 + 6 * id.length() : idBytes) + RESULT_START.length() + RESULT_VALUE.length()
                + resultJson.length + END.length()
                + (runNanos >= 0 ? RESULT_RUN_NANOS.length() + FrameBytes.digits(runNanos) : 0);
        FrameBytes out = new FrameBytes(size).ascii(RESULT_START).string(id);
        if (runNanos >= 0) {
            out.ascii(RESULT_RUN_NANOS).number(runNanos);
        }
        return out.ascii(RESULT_VALUE).raw(resultJson).ascii(END).toByteArray();
    }

    /** A frame being written into one array, sized up front for the common case. */
    private static final class FrameBytes {
        private byte[] bytes;
        private int length;

        FrameBytes(int capacity) {
            bytes = new byte[capacity];
        }

        /** Writing into an array that has room from {@code at} on. */
        FrameBytes(byte[] into, int at) {
            bytes = into;
            length = at;
        }

        /** The bytes {@code text} takes as a JSON string with its quotes, or -1 if it needs escaping. */
        static int plainStringBytes(String text) {
            for (int i = 0; i < text.length(); i++) {
                if (!plain(text.charAt(i))) {
                    return -1;
                }
            }
            return text.length() + 2;
        }

        private static boolean plain(char c) {
            return c >= 0x20 && c < 0x7F && c != '"' && c != '\\';
        }

        static int digits(long value) {
            int digits = value < 0 ? 2 : 1;
            for (long rest = Math.abs(value / 10); rest > 0; rest /= 10) {
                digits++;
            }
            return digits;
        }

        private void room(int more) {
            if (length + more > bytes.length) {
                bytes = Arrays.copyOf(bytes, Math.max(bytes.length * 2, length + more));
            }
        }

        FrameBytes ascii(String text) {
            room(text.length());
            for (int i = 0; i < text.length(); i++) {
                bytes[length++] = (byte) text.charAt(i);
            }
            return this;
        }

        FrameBytes number(long value) {
            if (value < 0) {
                return ascii(Long.toString(value));
            }
            int digits = digits(value);
            room(digits);
            for (int i = length + digits - 1; i >= length; i--) {
                bytes[i] = (byte) ('0' + value % 10);
                value /= 10;
            }
            length += digits;
            return this;
        }

        FrameBytes raw(byte[] json) {
            room(json.length);
            System.arraycopy(json, 0, bytes, length, json.length);
            length += json.length;
            return this;
        }

        /** A JSON string: printable ASCII is copied as is, anything else goes through Jackson's encoder. */
        FrameBytes string(String text) {
            room(text.length() + 2);
            int start = length;
            bytes[length++] = '"';
            for (int i = 0; i < text.length(); i++) {
                char c = text.charAt(i);
                if (!plain(c)) {
                    length = start;
                    return ascii("\"").raw(JsonStringEncoder.getInstance().quoteAsUTF8(text)).ascii("\"");
                }
                bytes[length++] = (byte) c;
            }
            bytes[length++] = '"';
            return this;
        }

        byte[] toByteArray() {
            return length == bytes.length ? bytes : Arrays.copyOf(bytes, length);
        }
    }

    public byte[] encodeCancel(String id) {
        return write(g -> {
            g.writeStringField("type", "cancel");
            g.writeStringField("id", id);
        });
    }

    public byte[] encodeShutdown() {
        return write(g -> g.writeStringField("type", "shutdown"));
    }

    public byte[] encodeReady(long pid, List<String> taskTypes, List<String> capabilities, int maxConcurrency) {
        return write(g -> {
            g.writeStringField("type", "ready");
            g.writeNumberField("pid", pid);
            g.writeNumberField("protocol", PROTOCOL_VERSION);
            writeStrings(g, "taskTypes", taskTypes);
            writeStrings(g, "capabilities", capabilities);
            g.writeNumberField("maxConcurrency", maxConcurrency);
        });
    }

    public byte[] encodeHeartbeat(long rssBytes, long heapUsedBytes, long heapMaxBytes) {
        return write(g -> {
            g.writeStringField("type", "heartbeat");
            g.writeNumberField("rssBytes", rssBytes);
            g.writeNumberField("heapUsedBytes", heapUsedBytes);
            g.writeNumberField("heapMaxBytes", heapMaxBytes);
        });
    }

    public byte[] encodeError(String id, String kind, String errorClass, String message, String stack,
                              boolean retryable) {
        return encodeError(id, kind, errorClass, message, stack, retryable, -1);
    }

    /** An error frame with the time the worker spent on the task (left out when negative). */
    public byte[] encodeError(String id, String kind, String errorClass, String message, String stack,
                              boolean retryable, long runNanos) {
        return write(g -> {
            g.writeStringField("type", "error");
            g.writeStringField("id", id);
            g.writeStringField("kind", kind);
            g.writeStringField("errorClass", errorClass);
            g.writeStringField("message", message == null ? "" : message);
            g.writeStringField("stack", stack == null ? "" : stack);
            g.writeBooleanField("retryable", retryable);
            if (runNanos >= 0) {
                g.writeNumberField("runNanos", runNanos);
            }
        });
    }

    public byte[] encodeLog(String level, String message, String id) {
        return write(g -> {
            g.writeStringField("type", "log");
            g.writeStringField("level", level);
            g.writeStringField("message", message);
            if (id != null) {
                g.writeStringField("id", id);
            }
        });
    }

    public byte[] encodeProgress(String id, double fraction, String message) {
        return write(g -> {
            g.writeStringField("type", "progress");
            g.writeStringField("id", id);
            g.writeNumberField("fraction", fraction);
            g.writeStringField("message", message == null ? "" : message);
        });
    }

    private static void writeStrings(JsonGenerator g, String name, List<String> values) throws IOException {
        g.writeArrayFieldStart(name);
        for (String value : values) {
            g.writeString(value);
        }
        g.writeEndArray();
    }

    @FunctionalInterface
    private interface Members {
        void write(JsonGenerator generator) throws IOException;
    }

    private byte[] write(Members members) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(128);
        try (JsonGenerator g = factory.createGenerator(out)) {
            g.writeStartObject();
            g.writeNumberField("v", PROTOCOL_VERSION);
            members.write(g);
            g.writeEndObject();
        } catch (IOException e) {
            throw new UncheckedIOException(e); // writing to memory does not fail
        }
        out.write('\n');
        return out.toByteArray();
    }
}
