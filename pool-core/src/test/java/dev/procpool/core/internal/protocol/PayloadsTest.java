package dev.procpool.core.internal.protocol;

import com.fasterxml.jackson.databind.util.RawValue;
import dev.procpool.PayloadCodec;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** What any payload codec's output goes through before it is embedded in a one-line frame. */
class PayloadsTest {

    /** An application's codec that writes JSON as given, whatever the value. */
    private record Fixed(String json) implements PayloadCodec {
        @Override
        public byte[] encode(Object value) {
            return json == null ? null : json.getBytes(StandardCharsets.UTF_8);
        }

        @Override
        public <T> T decode(byte[] json, Class<T> type) {
            throw new UnsupportedOperationException();
        }
    }

    private static String written(String json) throws IOException {
        return new String(Payloads.write(new Fixed(json), "anything"), StandardCharsets.UTF_8);
    }

    @Test
    void lineBreaksBetweenTokensBecomeSpaces() throws IOException {
        String pretty = "{\n  \"a\": [1,\r\n  2],\n \"b\": \"x\"\n}";
        assertEquals(pretty.replace('\n', ' ').replace('\r', ' '), written(pretty));
    }

    @Test
    void stringsAreLeftAsTheyAre() throws IOException {
        // escaped line breaks and quotes stay; a raw line break inside a string is invalid JSON: left for the check
        String escaped = "{\"a\":\"line\\nbreak \\\" quote\",\n\"b\":\"\\\\\"}";
        assertEquals(escaped.replace(",\n", ", "), written(escaped));
        String raw = "[\"a\nb\"]";
        assertEquals(raw, written(raw));
        FrameLimitException refused = assertThrows(FrameLimitException.class,
                () -> new FrameCodec().checkValue(raw.getBytes(StandardCharsets.UTF_8)));
        assertTrue(refused.getMessage().contains("control character"), refused.getMessage());
    }

    @Test
    void jsonWithoutLineBreaksIsNotCopied() throws IOException {
        byte[] json = "{\"a\":1}".getBytes(StandardCharsets.UTF_8);
        assertSame(json, Payloads.oneLine(json));
    }

    @Test
    void aCodecThatReturnsNothingIsAnError() {
        IOException error = assertThrows(IOException.class, () -> written(null));
        assertTrue(error.getMessage().contains("returned null"), error.getMessage());
    }

    @Test
    void jsonAlreadyWrittenSkipsTheApplicationsCodec() throws IOException {
        // how a dead letter is redriven: its payload is JSON already, and any codec may be set
        byte[] json = Payloads.write(new Fixed("\"not this\""), new RawValue("{\"kept\":true}"));
        assertEquals("{\"kept\":true}", new String(json, StandardCharsets.UTF_8));
    }
    /**
     * A string payload or result is written, checked and read without Jackson when it is plain printable ASCII; the
     * bytes and values must be exactly Jackson's, and anything else must still take Jackson's way.
     */
    @Test
    void stringsTakeTheShortWayOnlyWhenJacksonWouldWriteTheSameBytes() throws Exception {
        com.fasterxml.jackson.databind.ObjectMapper jackson = FrameCodec.newMapper();
        StringBuilder every = new StringBuilder();
        for (char c = 0; c < 0x100; c++) {
            every.append(c);
        }
        String[] texts = {"", "a", "x".repeat(100), " !#$%&'()*+,-./09:;<=>?@AZ[]^_`az{|}~", "quote \" inside",
            "back\\slash", "tab\there", "line\nbreak", "del\u007f", "é", "日本", "\ud83d\ude00", "\ud800 lone",
            every.toString()};
        FrameCodec codec = new FrameCodec();
        for (String text : texts) {
            byte[] written = Payloads.write(Payloads.BUILT_IN, text);
            assertEquals(new String(jackson.writeValueAsBytes(text), StandardCharsets.UTF_8),
                    new String(written, StandardCharsets.UTF_8), "written: " + text);
            codec.checkValue(written);
            assertEquals(jackson.readValue(written, String.class), Payloads.read(Payloads.BUILT_IN, written,
                    String.class), "read: " + text);
            assertEquals(jackson.readValue(written, Object.class), Payloads.read(Payloads.BUILT_IN, written,
                    Object.class), "read as Object: " + text);
            boolean plain = text.chars().allMatch(c -> c >= 0x20 && c < 0x7F && c != '"' && c != '\\');
            assertEquals(plain, Payloads.isPlainString(written), "plain: " + text);
        }
        // what only looks like a plain string is read by Jackson, which refuses it as before
        byte[] notJson = "\"a\" \"b\"".getBytes(StandardCharsets.US_ASCII);
        assertThrows(IOException.class, () -> Payloads.read(Payloads.BUILT_IN, notJson, Integer.class));
        assertThrows(FrameLimitException.class, () -> codec.checkValue("\"a\"\"".getBytes(StandardCharsets.US_ASCII)));
    }

    @Test
    void aPlainStringOverTheStringLimitIsStillRefused() throws Exception {
        FrameCodec codec = new FrameCodec();
        int limit = codec.limits().maxStringBytes();
        codec.checkValue(("\"" + "x".repeat(limit) + "\"").getBytes(StandardCharsets.US_ASCII));
        FrameLimitException e = assertThrows(FrameLimitException.class,
                () -> codec.checkValue(("\"" + "x".repeat(limit + 1) + "\"").getBytes(StandardCharsets.US_ASCII)));
        assertTrue(e.getMessage().contains("over the limit of " + limit), e.getMessage());
    }
}
