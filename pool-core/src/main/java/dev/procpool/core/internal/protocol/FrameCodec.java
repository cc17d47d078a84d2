package dev.procpool.core.internal.protocol;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.io.JsonStringEncoder;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Encodes and decodes protocol frames. Decoding streams over the line's bytes without building a tree, and keeps
 * payloads and results as raw JSON slices, so the host never materializes them unless the caller reads them.
 * Thread-safe.
 */
public final class FrameCodec {
    /** The protocol version this codec speaks. */
    public static final int PROTOCOL_VERSION = 1;

    private static final byte[] NULL_JSON = "null".getBytes(java.nio.charset.StandardCharsets.US_ASCII);

    private final ObjectMapper mapper;
    private final JsonFactory factory;

    public FrameCodec() {
        this(newMapper());
    }

    public FrameCodec(ObjectMapper mapper) {
        this.mapper = mapper;
        this.factory = mapper.getFactory();
    }

    /**
     * The mapper used for payloads and results: Jackson's defaults with default typing off (it is off unless
     * enabled, and nothing here enables it), so no class name is ever read from the wire.
     */
    public static ObjectMapper newMapper() {
        return JsonMapper.builder()
                .disable(SerializationFeature.FAIL_ON_EMPTY_BEANS)
                .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
                .build();
    }

    public ObjectMapper mapper() {
        return mapper;
    }

    // ---------------------------------------------------------------- decoding

    /** Decodes one line. Never throws: anything that is not a frame becomes {@link Frame.NotAFrame}. */
    public Frame decode(byte[] line) {
        try (JsonParser p = factory.createParser(line)) {
            if (p.nextToken() != JsonToken.START_OBJECT) {
                return new Frame.NotAFrame("not a JSON object");
            }
            Fields f = new Fields();
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String name = p.currentName();
                JsonToken token = p.nextToken();
                switch (name) {
                    case "v" -> f.version = token == JsonToken.VALUE_NUMBER_INT ? integer(p, token) : skip(p);
                    case "type" -> f.type = text(p, token);
                    case "id" -> f.id = text(p, token);
                    case "pid" -> f.pid = number(p, token);
                    case "protocol" -> f.protocol = integer(p, token);
                    case "maxConcurrency" -> f.maxConcurrency = integer(p, token);
                    case "taskTypes" -> f.taskTypes = strings(p, token);
                    case "capabilities" -> f.capabilities = strings(p, token);
                    case "rssBytes" -> f.rss = number(p, token);
                    case "heapUsedBytes" -> f.heapUsed = number(p, token);
                    case "heapMaxBytes" -> f.heapMax = number(p, token);
                    case "result" -> f.result = raw(p, token, line);
                    case "payload" -> f.payload = raw(p, token, line);
                    case "kind" -> f.kind = text(p, token);
                    case "errorClass" -> f.errorClass = text(p, token);
                    case "message" -> f.message = text(p, token);
                    case "stack" -> f.stack = text(p, token);
                    case "retryable" -> f.retryable = token != JsonToken.VALUE_FALSE && skip(p) == -1;
                    case "taskType" -> f.taskType = text(p, token);
                    case "attempt" -> f.attempt = integer(p, token);
                    case "timeoutMs" -> f.timeoutMs = number(p, token);
                    case "fraction" -> f.fraction = token.isNumeric() ? p.getDoubleValue() : skip(p);
                    case "level" -> f.level = text(p, token);
                    default -> p.skipChildren();
                }
            }
            if (p.nextToken() != null) {
                return new Frame.NotAFrame("text after the JSON object");
            }
            return f.toFrame();
        } catch (IOException | RuntimeException e) {
            return new Frame.NotAFrame("not valid JSON: " + e.getClass().getSimpleName());
        }
    }

    private static String text(JsonParser p, JsonToken token) throws IOException {
        if (token == JsonToken.VALUE_STRING) {
            return p.getText();
        }
        p.skipChildren();
        return null;
    }

    /** Skips the current value (and its children); returns -1, the value of an absent number. */
    private static int skip(JsonParser p) throws IOException {
        p.skipChildren();
        return -1;
    }

    /** An integer member; -1 when it is not an integer or does not fit in an int. */
    private static int integer(JsonParser p, JsonToken token) throws IOException {
        long value = number(p, token);
        return value < Integer.MIN_VALUE || value > Integer.MAX_VALUE ? -1 : (int) value;
    }

    private static long number(JsonParser p, JsonToken token) throws IOException {
        if (token == JsonToken.VALUE_NUMBER_INT) {
            try {
                return p.getLongValue();
            } catch (IOException e) {
                return -1; // too large for a long
            }
        }
        p.skipChildren();
        return -1;
    }

    private static List<String> strings(JsonParser p, JsonToken token) throws IOException {
        if (token != JsonToken.START_ARRAY) {
            p.skipChildren();
            return List.of();
        }
        List<String> values = new ArrayList<>();
        while (p.nextToken() != JsonToken.END_ARRAY) {
            if (p.currentToken() == JsonToken.VALUE_STRING) {
                values.add(p.getText());
            } else {
                p.skipChildren();
            }
        }
        return List.copyOf(values);
    }

    /** The raw bytes of the current value: byte offsets are exact because the input is a byte array. */
    private static byte[] raw(JsonParser p, JsonToken token, byte[] line) throws IOException {
        int start = (int) p.currentTokenLocation().getByteOffset();
        if (token == JsonToken.START_OBJECT || token == JsonToken.START_ARRAY) {
            p.skipChildren();
        } else {
            p.getText(); // forces a lazily parsed scalar to be consumed
        }
        int end = (int) p.currentLocation().getByteOffset();
        return Arrays.copyOfRange(line, start, end);
    }

    private static final class Fields {
        int version = -1;
        String type;
        String id;
        long pid = -1;
        int protocol = -1;
        int maxConcurrency = 1;
        List<String> taskTypes = List.of();
        List<String> capabilities = List.of();
        long rss;
        long heapUsed;
        long heapMax;
        byte[] result;
        byte[] payload;
        String kind;
        String errorClass;
        String message;
        String stack;
        boolean retryable = true;
        String taskType;
        int attempt = 1;
        long timeoutMs;
        double fraction;
        String level;

        Frame toFrame() {
            if (type == null) {
                return new Frame.NotAFrame("no \"type\" member");
            }
            if (version != PROTOCOL_VERSION) {
                return new Frame.NotAFrame("\"v\" is not " + PROTOCOL_VERSION);
            }
            return switch (type) {
                case "ready" -> pid <= 0 ? new Frame.NotAFrame("ready without a positive \"pid\"")
                        : new Frame.Ready(pid, protocol, taskTypes, capabilities, Math.max(1, maxConcurrency));
                case "heartbeat" -> new Frame.Heartbeat(Math.max(0, rss), Math.max(0, heapUsed), Math.max(0, heapMax));
                case "result" -> id == null ? missing("id")
                        : new Frame.Result(id, result == null ? NULL_JSON : result);
                case "error" -> id == null ? missing("id")
                        : new Frame.Error(id, kind == null ? "HANDLER_ERROR" : kind,
                        errorClass == null ? "UnknownError" : errorClass, message, stack, retryable);
                case "progress" -> id == null ? missing("id") : new Frame.Progress(id, fraction, message);
                case "log" -> new Frame.Log(level == null ? "INFO" : level, message == null ? "" : message, id);
                case "task" -> id == null || taskType == null ? missing("id or taskType")
                        : new Frame.Task(id, taskType, attempt, Math.max(0, timeoutMs),
                        payload == null ? NULL_JSON : payload);
                case "cancel" -> id == null ? missing("id") : new Frame.Cancel(id);
                case "shutdown" -> new Frame.Shutdown();
                default -> new Frame.Unknown(type);
            };
        }

        private Frame missing(String member) {
            return new Frame.NotAFrame(type + " frame without " + member);
        }
    }

    // ---------------------------------------------------------------- encoding

    /** Serializes a payload or result value; the bytes are embedded raw in frames. */
    public byte[] toJson(Object value) throws JsonProcessingException {
        return mapper.writeValueAsBytes(value);
    }

    /** The bytes a task frame for these values will take, without building it. */
    public static int taskFrameOverhead(String id, String taskType) {
        // members and punctuation, plus escaped strings at worst 6 bytes per character
        return 96 + 6 * (id.length() + taskType.length());
    }

    /** A task frame with the payload embedded as raw JSON. */
    public byte[] encodeTask(String id, String taskType, int attempt, long timeoutMs, byte[] payloadJson) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(taskFrameOverhead(id, taskType) + payloadJson.length);
        writeAscii(out, "{\"v\":1,\"type\":\"task\",\"id\":\"");
        out.writeBytes(JsonStringEncoder.getInstance().quoteAsUTF8(id));
        writeAscii(out, "\",\"taskType\":\"");
        out.writeBytes(JsonStringEncoder.getInstance().quoteAsUTF8(taskType));
        writeAscii(out, "\",\"attempt\":" + attempt);
        if (timeoutMs > 0) {
            writeAscii(out, ",\"timeoutMs\":" + timeoutMs);
        }
        writeAscii(out, ",\"payload\":");
        out.writeBytes(payloadJson);
        writeAscii(out, "}\n");
        return out.toByteArray();
    }

    /** A result frame with the result embedded as raw JSON. */
    public byte[] encodeResult(String id, byte[] resultJson) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(48 + id.length() * 6 + resultJson.length);
        writeAscii(out, "{\"v\":1,\"type\":\"result\",\"id\":\"");
        out.writeBytes(JsonStringEncoder.getInstance().quoteAsUTF8(id));
        writeAscii(out, "\",\"result\":");
        out.writeBytes(resultJson);
        writeAscii(out, "}\n");
        return out.toByteArray();
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
        return write(g -> {
            g.writeStringField("type", "error");
            g.writeStringField("id", id);
            g.writeStringField("kind", kind);
            g.writeStringField("errorClass", errorClass);
            g.writeStringField("message", message == null ? "" : message);
            g.writeStringField("stack", stack == null ? "" : stack);
            g.writeBooleanField("retryable", retryable);
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

    private static void writeAscii(ByteArrayOutputStream out, String ascii) {
        for (int i = 0; i < ascii.length(); i++) {
            out.write(ascii.charAt(i));
        }
    }
}
