package dev.procpool.core.internal.protocol;

import com.fasterxml.jackson.databind.util.RawValue;
import dev.procpool.PayloadCodec;
import dev.procpool.PoolConfig;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * The codec of payloads and results that a pool or a handler uses, and what makes any codec's output fit in a frame.
 * Thread-safe.
 */
public final class Payloads {
    /**
     * The codec where the application sets none: {@link FrameCodec#newMapper()}, made at the first value that is not
     * a plain string ({@link #write}, {@link #read}): a fresh worker spends tens of milliseconds building a mapper.
     */
    public static final PayloadCodec BUILT_IN = new PayloadCodec() {
        @Override
        public byte[] encode(Object value) throws IOException {
            return BuiltInMapper.CODEC.encode(value);
        }

        @Override
        public <T> T decode(byte[] json, Class<T> type) throws IOException {
            return BuiltInMapper.CODEC.decode(json, type);
        }

        @Override
        public String toString() {
            return BuiltInMapper.DESCRIPTION;
        }
    };

    /** Made when first used (the class is initialized then). */
    private static final class BuiltInMapper {
        static final String DESCRIPTION = "the built-in Jackson mapper";
        static final PayloadCodec CODEC = new MapperCodec(FrameCodec.newMapper(), DESCRIPTION);
    }

    private Payloads() {
    }

    /** {@return the codec of a pool's payloads and results: the application's, or the built-in one} */
    public static PayloadCodec forPool(PoolConfig config) {
        return config.payloadCodec().orElse(BUILT_IN);
    }

    /**
     * Writes a payload or result as one line of JSON. A value that is JSON already (Jackson's {@link RawValue}, as a
     * dead letter is redriven with) is written as it is, whatever the codec. Line breaks between the tokens of what
     * an application's codec wrote (pretty printing) become spaces: a frame is one line. Whether the bytes are JSON
     * within the frame limits is for {@link FrameCodec#checkValue(byte[])} to say.
     *
     * @throws IOException what the codec threw, or that it returned no bytes
     */
    public static byte[] write(PayloadCodec codec, Object value) throws IOException {
        if (codec == BUILT_IN && value instanceof String text) {
            byte[] plain = plainString(text);
            if (plain != null) {
                return plain; // the bytes Jackson would write, without a generator and its buffers per call
            }
        }
        if (codec == BUILT_IN || value instanceof RawValue) {
            return BUILT_IN.encode(value); // never writes a line break
        }
        byte[] json = codec.encode(value);
        if (json == null) {
            throw new IOException(codec + " returned null instead of JSON");
        }
        return oneLine(json);
    }

    /**
     * A string of printable ASCII without quotes or backslashes as JSON (the text between quotes, which is what
     * Jackson writes for it), or null when it needs escaping (then Jackson writes it).
     */
    static byte[] plainString(String text) {
        int length = text.length();
        byte[] json = new byte[length + 2];
        json[0] = '"';
        for (int i = 0; i < length; i++) {
            char c = text.charAt(i);
            if (c < 0x20 || c >= 0x7F || c == '"' || c == '\\') {
                return null;
            }
            json[i + 1] = (byte) c;
        }
        json[length + 1] = '"';
        return json;
    }

    /**
     * Reads a payload or result with a codec. A string of printable ASCII read as a {@code String} or an
     * {@code Object} with the built-in codec is the text between its quotes, which is what Jackson returns for it,
     * without a parser per call.
     *
     * @throws IOException what the codec threw
     */
    public static <T> T read(PayloadCodec codec, byte[] json, Class<T> type) throws IOException {
        if (codec == BUILT_IN && (type == String.class || type == Object.class) && isPlainString(json)) {
            return type.cast(new String(json, 1, json.length - 2, StandardCharsets.ISO_8859_1));
        }
        return codec.decode(json, type);
    }

    /** Whether the bytes are one JSON string of printable ASCII, without escapes. */
    static boolean isPlainString(byte[] json) {
        int last = json.length - 1;
        if (last < 1 || json[0] != '"' || json[last] != '"') {
            return false;
        }
        for (int i = 1; i < last; i++) {
            byte b = json[i];
            if (b < 0x20 || b == '"' || b == '\\' || b == 0x7F) { // bytes over 0x7F are negative
                return false;
            }
        }
        return true;
    }

    /** {@return the class of a payload or result, for messages} */
    public static String typeOf(Object value) {
        return value == null ? "null" : value.getClass().getName();
    }

    /**
     * The same JSON with each line break outside strings replaced by a space, which JSON reads alike; the array
     * itself if it has none. A line break inside a string is invalid JSON and is left for the check to refuse.
     * (No byte of a multi-byte UTF-8 character is a quote or a backslash, so bytes can be scanned one by one.)
     */
    static byte[] oneLine(byte[] json) {
        byte[] out = json;
        boolean inString = false;
        for (int i = 0; i < json.length; i++) {
            byte b = json[i];
            if (inString) {
                if (b == '\\') {
                    i++; // the escaped character, whatever it is
                } else if (b == '"') {
                    inString = false;
                }
            } else if (b == '"') {
                inString = true;
            } else if (b == '\n' || b == '\r') {
                if (out == json) {
                    out = Arrays.copyOf(json, json.length);
                }
                out[i] = ' ';
            }
        }
        return out;
    }
}
