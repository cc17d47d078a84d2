package dev.procpool.core.internal.protocol;

import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.math.BigDecimal;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The limits are the same both ways: whatever {@link FrameCodec#checkValue} lets a side send, the frame reader reads
 * back, and Jackson reads too; whatever it refuses, the reader would refuse. And an answer the reader cannot read is
 * still recognised as the answer to its task.
 */
class FrameLimitsTest {
    private static final int DIGITS = FrameLimits.DEFAULT.maxNumberLength();
    private static final int DEPTH = FrameLimits.DEFAULT.maxNestingDepth();

    private final FrameCodec codec = new FrameCodec();
    /** Jackson reading a whole line, as a worker in another language (or a Jackson-based one) would. */
    private static final ObjectMapper JACKSON = new ObjectMapper().enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

    private static boolean jacksonReads(ObjectMapper mapper, byte[] line) {
        try {
            mapper.readTree(line);
            return true;
        } catch (Exception e) {
            return false;
        }
    }

    private static boolean passes(FrameCodec codec, byte[] value) {
        try {
            codec.checkValue(value);
            return true;
        } catch (FrameLimitException e) {
            return false;
        }
    }

    /** The values at and just past each limit, as JSON. */
    private static List<String> valuesAroundTheLimits(FrameLimits limits) {
        List<String> values = new ArrayList<>();
        for (int digits = limits.maxNumberLength() - 1; digits <= limits.maxNumberLength() + 1; digits++) {
            String n = "7".repeat(digits);
            values.add(n);
            values.add("-" + n);
            values.add("[" + n.substring(1) + ".5]");
            values.add("{\"x\":1." + n.substring(1) + "}");
            values.add("1e" + n.substring(Math.min(n.length() - 1, 2)));
        }
        for (int depth = limits.maxNestingDepth() - 2; depth <= limits.maxNestingDepth(); depth++) {
            values.add("[".repeat(depth) + "]".repeat(depth));
            values.add("{\"a\":".repeat(depth) + "1" + "}".repeat(depth));
        }
        for (int length = Math.min(limits.maxStringBytes(), 200_000) - 1;
             length <= limits.maxStringBytes() + 1 && length < 200_000 + 2; length++) {
            values.add("\"" + "s".repeat(length) + "\"");
        }
        for (int length = limits.maxNameBytes() - 1; length <= limits.maxNameBytes() + 1; length++) {
            values.add("{\"" + "k".repeat(length) + "\":true}");
        }
        return values;
    }

    /** Checked alone, embedded in a result frame, and read by Jackson as a whole line: one verdict. */
    private static void assertOneVerdict(FrameCodec codec, ObjectMapper jackson, String value) {
        byte[] json = value.getBytes(StandardCharsets.UTF_8);
        boolean sendable = passes(codec, json);
        byte[] line = codec.encodeResult("t-1", json);
        byte[] withoutNewline = java.util.Arrays.copyOf(line, line.length - 1);
        Frame decoded = codec.decode(withoutNewline);
        String shown = value.length() > 60 ? value.substring(0, 30) + "…(" + value.length() + " chars)" : value;
        assertEquals(sendable, decoded instanceof Frame.Result, () -> "checkValue and the reader disagree on "
                + shown + ": " + decoded);
        assertEquals(sendable, jacksonReads(jackson, withoutNewline), () -> "checkValue and Jackson reading the "
                + "frame disagree on " + shown);
        if (!sendable) {
            Frame.UnreadableAnswer answer = assertInstanceOf(Frame.UnreadableAnswer.class, decoded, shown);
            assertEquals("t-1", answer.id());
            assertEquals("result", answer.type());
        }
    }

    @Test
    void whatMaySendIsExactlyWhatIsReadBackWithTheDefaultLimits() {
        int refused = 0;
        List<String> values = valuesAroundTheLimits(FrameLimits.DEFAULT);
        for (String value : values) {
            assertOneVerdict(codec, JACKSON, value);
            refused += passes(codec, value.getBytes(StandardCharsets.UTF_8)) ? 0 : 1;
        }
        assertTrue(refused > 0 && refused < values.size(), "both sides of the limits are tried: " + refused);
    }

    @Test
    void whatMaySendIsExactlyWhatIsReadBackWithAMappersOwnLimits() {
        ObjectMapper strict = JsonMapper.builder().build();
        strict.getFactory().setStreamReadConstraints(StreamReadConstraints.builder().maxNestingDepth(20)
                .maxNumberLength(30).maxStringLength(100).maxNameLength(40).build());
        FrameCodec small = new FrameCodec(strict);
        assertEquals(new FrameLimits(20, 30, 100, 40), small.limits());
        ObjectMapper jackson = JsonMapper.builder().enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS).build();
        jackson.getFactory().setStreamReadConstraints(strict.getFactory().streamReadConstraints());
        for (String value : valuesAroundTheLimits(small.limits())) {
            assertOneVerdict(small, jackson, value);
        }
    }

    @Test
    void aNumberJacksonWritesButNoReaderTakesIsRefusedNamingTheLimit() throws Exception {
        // Jackson writes numbers of any length: the check is what stops a task whose answer could never be read.
        byte[] json = codec.toJson(Map.of("n", new BigInteger("9".repeat(DIGITS + 1))));
        FrameLimitException e = assertThrows(FrameLimitException.class, () -> codec.checkValue(json));
        assertTrue(e.getMessage().contains("a number of " + (DIGITS + 1) + " digits, over the limit of " + DIGITS),
                e.getMessage());
        assertTrue(e.getMessage().contains("at byte 5"), e.getMessage());
        codec.checkValue(codec.toJson(Map.of("n", new BigInteger("9".repeat(DIGITS)))));
        codec.checkValue(codec.toJson(new BigDecimal("0." + "1".repeat(DIGITS - 1))));
    }

    @Test
    void aPayloadNestedToTheLimitOfJacksonsWriterIsTooDeepForAFrame() throws Exception {
        // Jackson writes up to 1000 levels; inside a frame only 999 fit.
        Object value = List.of();
        for (int i = 1; i < DEPTH; i++) {
            value = List.of(value);
        }
        byte[] json = codec.toJson(value);
        FrameLimitException e = assertThrows(FrameLimitException.class, () -> codec.checkValue(json));
        assertTrue(e.getMessage().contains("nested deeper than " + DEPTH + " levels"), e.getMessage());
        codec.checkValue(codec.toJson(((List<?>) value).get(0)));
    }

    @ParameterizedTest
    @ValueSource(strings = {"", " ", "1 2", "{\"a\":1", "NaN", "'x'", "[1,]"})
    void somethingThatIsNotOneJsonValueIsRefused(String text) {
        assertThrows(FrameLimitException.class, () -> codec.checkValue(text.getBytes(StandardCharsets.UTF_8)));
    }

    @Nested
    class UnreadableAnswers {
        private Frame decode(String line) {
            return codec.decode(line.getBytes(StandardCharsets.UTF_8));
        }

        @Test
        void aResultWithANumberOverTheLimitNamesItsTask() {
            Frame frame = decode("{\"v\":1,\"type\":\"result\",\"id\":\"t-9\",\"result\":" + "1".repeat(DIGITS + 1)
                    + "}");
            Frame.UnreadableAnswer answer = assertInstanceOf(Frame.UnreadableAnswer.class, frame);
            assertEquals("t-9", answer.id());
            assertEquals("result", answer.type());
            assertTrue(answer.why().contains("digits"), answer.why());
            assertTrue(answer.text().startsWith("{\"v\":1,\"type\":\"result\""), answer.text());
        }

        @Test
        void theIdIsFoundAfterTheBrokenMemberToo() {
            Frame frame = decode("{\"v\":1,\"result\":{\"deep\":[" + "[".repeat(DEPTH) + "]".repeat(DEPTH)
                    + "],\"s\":\"a\\\"]}\"},\"type\":\"error\",\"id\":\"t-\\u0031\"}");
            Frame.UnreadableAnswer answer = assertInstanceOf(Frame.UnreadableAnswer.class, frame);
            assertEquals("t-1", answer.id());
            assertEquals("error", answer.type());
        }

        @ParameterizedTest
        @ValueSource(strings = {
            "{\"type\":\"result\",\"id\":\"t-1\",\"result\":1}",
            "{\"v\":2,\"type\":\"result\",\"id\":\"t-1\",\"result\":1}",
            "{\"v\":1,\"type\":\"result\",\"id\":\"t-1\",\"result\":1} trailing",
            "{\"v\":1,\"type\":\"error\",\"id\":\"t-1\",\"message\":\"tab\there\"}",
            "{\"v\":1,\"type\":\"result\",\"id\":\"t-1\",\"result\":[1,2",
            "{\"v\":1,\"type\":\"result\",\"id\":\"t-1\",\"result\":01}",
            "{\"v\":1,\"type\":\"error\",\"id\":\"t-1\",\"kind\":\"HANDLER_ERROR\",}",
        })
        void anyAnswerThatIsNotAFrameStillNamesItsTask(String line) {
            Frame.UnreadableAnswer answer = assertInstanceOf(Frame.UnreadableAnswer.class, decode(line), line);
            assertEquals("t-1", answer.id());
        }

        @Test
        void invalidUtf8InAnErrorMessageStillNamesTheTask() {
            byte[] head = "{\"v\":1,\"type\":\"error\",\"id\":\"t-1\",\"message\":\"".getBytes(StandardCharsets.UTF_8);
            byte[] line = java.util.Arrays.copyOf(head, head.length + 3);
            line[head.length] = (byte) 0xC0;
            line[head.length + 1] = '"';
            line[head.length + 2] = '}';
            assertEquals("t-1", assertInstanceOf(Frame.UnreadableAnswer.class, codec.decode(line)).id());
        }

        @ParameterizedTest
        @ValueSource(strings = {
            "{\"v\":1,\"type\":\"result\",\"result\":" + "1111111111" + "}",
            "{\"v\":1,\"type\":\"result\",\"id\":7,\"result\":1}",
            "{\"v\":1,\"type\":\"heartbeat\",\"rssBytes\":01}",
            "{\"v\":1,\"type\":\"progress\",\"id\":\"t-1\",\"fraction\":01}",
            "{\"v\":1,\"type\":\"ready\",\"pid\":0}",
            "{\"v\":1,\"id\":\"t-1\",\"result\":1}",
            "[\"result\",\"t-1\"]",
            "this is not json",
            "{\"v\":1,\"type\":\"result\",\"id\":\"t-\\x\"}",
        })
        void otherBrokenLinesAreNotFrames(String line) {
            assertInstanceOf(Frame.NotAFrame.class, decode(line), line);
        }
    }

    @Nested
    class Progress {
        private double fraction(String member) {
            String line = "{\"v\":1,\"type\":\"progress\",\"id\":\"t-1\"" + member + "}";
            return assertInstanceOf(Frame.Progress.class, codec.decode(line.getBytes(StandardCharsets.UTF_8)))
                    .fraction();
        }

        @Test
        void fractionsAreClampedToZeroToOne() {
            assertEquals(0.25, fraction(",\"fraction\":0.25"));
            assertEquals(1.0, fraction(",\"fraction\":1.5"));
            assertEquals(0.0, fraction(",\"fraction\":-1"));
            assertEquals(1.0, fraction(",\"fraction\":1e999"), "a number too large for a double is Infinity");
            assertEquals(0.0, fraction(",\"fraction\":-1e999"));
        }

        @Test
        void anAbsentOrNonNumericFractionIsZero() {
            assertEquals(0.0, fraction(""));
            assertEquals(0.0, fraction(",\"fraction\":\"NaN\""));
            assertEquals(0.0, fraction(",\"fraction\":\"Infinity\""));
            assertEquals(0.0, fraction(",\"fraction\":null"));
        }
    }
}
