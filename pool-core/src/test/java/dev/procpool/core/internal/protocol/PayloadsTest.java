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
}
