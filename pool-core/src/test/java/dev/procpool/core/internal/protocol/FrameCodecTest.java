package dev.procpool.core.internal.protocol;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class FrameCodecTest {

    /** A payload type with an {@code Object} member, the usual target of polymorphic-typing gadgets. */
    record Holder(Object value) {
    }

    record Size(int width, int height) {
    }

    private final FrameCodec codec = new FrameCodec();

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static String text(byte[] b) {
        return new String(b, StandardCharsets.UTF_8);
    }

    private Frame decode(String line) {
        return codec.decode(utf8(line));
    }

    /** Decodes an encoded frame the way the host reads it: the line without its terminator. */
    private Frame decodeLine(byte[] encoded) {
        assertEquals('\n', encoded[encoded.length - 1], "a frame ends with a newline");
        for (int i = 0; i < encoded.length - 1; i++) {
            assertTrue(encoded[i] != '\n' && encoded[i] != '\r', "a frame is a single line");
        }
        return codec.decode(Arrays.copyOf(encoded, encoded.length - 1));
    }

    private JsonNode tree(byte[] json) throws IOException {
        return codec.mapper().readTree(json);
    }

    @Nested
    class Ready {
        @Test
        void withEveryMember() {
            Frame frame = decode("{\"v\":1,\"type\":\"ready\",\"pid\":4242,\"protocol\":1,"
                    + "\"taskTypes\":[\"resize\",\"thumbnail\"],\"capabilities\":[\"images\"],\"maxConcurrency\":3}");
            assertEquals(new Frame.Ready(4242, 1, List.of("resize", "thumbnail"), List.of("images"), 3), frame);
        }

        @Test
        void withOnlyRequiredMembersGetsDefaults() {
            Frame frame = decode("{\"v\":1,\"type\":\"ready\",\"pid\":7,\"protocol\":1}");
            assertEquals(new Frame.Ready(7, 1, List.of(), List.of(), 1), frame);
        }

        @Test
        void emptyTaskTypesMeansAnyType() {
            Frame.Ready ready = assertInstanceOf(Frame.Ready.class,
                    decode("{\"v\":1,\"type\":\"ready\",\"pid\":7,\"protocol\":1,\"taskTypes\":[]}"));
            assertTrue(ready.taskTypes().isEmpty());
        }

        @Test
        void largePidIsKept() {
            Frame.Ready ready = assertInstanceOf(Frame.Ready.class,
                    decode("{\"v\":1,\"type\":\"ready\",\"pid\":4194304000,\"protocol\":1}"));
            assertEquals(4_194_304_000L, ready.pid());
        }

        @Test
        void anotherProtocolVersionIsDecodedSoTheHostCanNameIt() {
            Frame.Ready ready = assertInstanceOf(Frame.Ready.class,
                    decode("{\"v\":1,\"type\":\"ready\",\"pid\":7,\"protocol\":2}"));
            assertEquals(2, ready.protocol());
        }

        @Test
        void maxConcurrencyBelowOneBecomesOne() {
            Frame.Ready ready = assertInstanceOf(Frame.Ready.class,
                    decode("{\"v\":1,\"type\":\"ready\",\"pid\":7,\"protocol\":1,\"maxConcurrency\":0}"));
            assertEquals(1, ready.maxConcurrency());
        }

        @Test
        void nonStringTaskTypesAreSkipped() {
            Frame.Ready ready = assertInstanceOf(Frame.Ready.class, decode(
                    "{\"v\":1,\"type\":\"ready\",\"pid\":7,\"protocol\":1,\"taskTypes\":[\"a\",1,{\"b\":[\"c\"]},[\"d\"],\"e\"]}"));
            assertEquals(List.of("a", "e"), ready.taskTypes());
        }

        @Test
        void decodedListsAreUnmodifiable() {
            Frame.Ready ready = assertInstanceOf(Frame.Ready.class,
                    decode("{\"v\":1,\"type\":\"ready\",\"pid\":7,\"protocol\":1,\"taskTypes\":[\"a\"]}"));
            assertThrows(UnsupportedOperationException.class,
                    () -> ready.taskTypes().add("b"));
        }

        @ParameterizedTest
        @ValueSource(strings = {
                "{\"v\":1,\"type\":\"ready\",\"protocol\":1}",
                "{\"v\":1,\"type\":\"ready\",\"pid\":0,\"protocol\":1}",
                "{\"v\":1,\"type\":\"ready\",\"pid\":-5,\"protocol\":1}",
                "{\"v\":1,\"type\":\"ready\",\"pid\":\"42\",\"protocol\":1}",
                "{\"v\":1,\"type\":\"ready\",\"pid\":null,\"protocol\":1}"})
        void withoutAPositivePidIsNotAFrame(String line) {
            Frame.NotAFrame frame = assertInstanceOf(Frame.NotAFrame.class, decode(line));
            assertTrue(frame.why().contains("pid"), frame.why());
        }
    }

    @Nested
    class Heartbeat {
        @Test
        void withMemoryFigures() {
            assertEquals(new Frame.Heartbeat(52_428_800, 8_388_608, 268_435_456), decode(
                    "{\"v\":1,\"type\":\"heartbeat\",\"rssBytes\":52428800,\"heapUsedBytes\":8388608,"
                            + "\"heapMaxBytes\":268435456}"));
        }

        @Test
        void bareHeartbeatHasZeros() {
            assertEquals(new Frame.Heartbeat(0, 0, 0), decode("{\"v\":1,\"type\":\"heartbeat\"}"));
        }

        @Test
        void partialAndNonsenseFiguresBecomeZero() {
            assertEquals(new Frame.Heartbeat(100, 0, 0),
                    decode("{\"v\":1,\"type\":\"heartbeat\",\"rssBytes\":100,\"heapUsedBytes\":\"lots\","
                            + "\"heapMaxBytes\":-3}"));
        }
    }

    @Nested
    class Result {
        /** One reading thread reuses its members from frame to frame: nothing of a frame shows in the next. */
        @Test
        void nothingOfAFrameShowsInTheNextOneReadOnTheSameThread() {
            decodeLine(codec.encodeResult("t-1", utf8("[1,2,3]"), 55));
            Frame.Result bare = assertInstanceOf(Frame.Result.class,
                    codec.decode(utf8("{\"v\":1,\"type\":\"result\",\"id\":\"t-2\"}")));
            assertEquals(-1, bare.runNanos());
            assertArrayEquals(utf8("null"), bare.result());
            decodeLine(codec.encodeError("t-3", "OUT_OF_MEMORY", "E", "m", "s", false, 7));
            Frame.Error error = assertInstanceOf(Frame.Error.class,
                    codec.decode(utf8("{\"v\":1,\"type\":\"error\",\"id\":\"t-4\"}")));
            assertEquals("HANDLER_ERROR", error.kind());
            assertEquals("UnknownError", error.errorClass());
            assertTrue(error.retryable());
            assertEquals(-1, error.runNanos());
            assertInstanceOf(Frame.NotAFrame.class, codec.decode(utf8("{\"v\":1,\"type\":\"result\",\"id\":")));
            assertInstanceOf(Frame.NotAFrame.class, codec.decode(utf8("{\"v\":1,\"id\":\"t-5\"}")));
            assertEquals(new Frame.Unknown("resultx"), codec.decode(utf8("{\"v\":1,\"type\":\"resultx\"}")));
        }

        private byte[] resultBytes(String line) {
            Frame.Result result = assertInstanceOf(Frame.Result.class, decode(line));
            assertEquals("t-17", result.id());
            return result.result();
        }

        @ParameterizedTest
        @ValueSource(strings = {
                "{\"width\":64,\"height\":48}",
                "{}",
                "{\"nested\":{\"a\":[1,2,{\"b\":\"}]\\\"\"}]},\"s\":\"{not an object\"}",
                "[1,\"two\",{\"three\":3},[],null]",
                "[]",
                "\"a string with \\\"quotes\\\", \\\\ and \\u00e9 and \\n\"",
                "\"caf\u00e9 \u20ac \uD83D\uDE00\"",
                "\"\"",
                "0",
                "-1.5e3",
                "42",
                "12345678901234567890123456789",
                "3.141592653589793",
                "true",
                "false",
                "null"})
        void rawBytesAreTheExactSliceOfTheLine(String json) throws IOException {
            byte[] raw = resultBytes("{\"v\":1,\"type\":\"result\",\"id\":\"t-17\",\"result\":" + json + "}");
            assertEquals(json, text(raw));
            assertEquals(tree(utf8(json)), tree(raw));
        }

        @ParameterizedTest
        @ValueSource(strings = {"{\"a\":1}", "[1, 2]", "\"s\"", "7", "null", "true"})
        void rawSliceExcludesSurroundingWhitespaceAndFollowingMembers(String json) {
            byte[] raw = resultBytes("{ \"v\" : 1 , \"type\" : \"result\" , \"result\" :  " + json
                    + "  , \"id\" : \"t-17\" , \"after\" : [ 1 ] }");
            assertEquals(json, text(raw));
        }

        @Test
        void resultIsTheLastMemberBeforeTheEnd() {
            assertEquals("9", text(resultBytes("{\"v\":1,\"type\":\"result\",\"id\":\"t-17\",\"result\":9}")));
        }

        @Test
        void absentResultIsNull() {
            assertEquals("null", text(resultBytes("{\"v\":1,\"type\":\"result\",\"id\":\"t-17\"}")));
        }

        @Test
        void idWithEscapesIsUnescaped() {
            Frame.Result result = assertInstanceOf(Frame.Result.class,
                    decode("{\"v\":1,\"type\":\"result\",\"id\":\"a\\\"b\\\\c\\u0041\",\"result\":1}"));
            assertEquals("a\"b\\cA", result.id());
        }

        @Test
        void runNanosIsTheWorkersTimeOnTheTaskAndMinusOneWhenAbsentOrNotAWholeNumber() {
            Frame.Result timed = assertInstanceOf(Frame.Result.class,
                    decode("{\"v\":1,\"type\":\"result\",\"id\":\"t-17\",\"runNanos\":81234,\"result\":1}"));
            assertEquals(81_234, timed.runNanos());
            assertEquals(-1, ((Frame.Result) decode("{\"v\":1,\"type\":\"result\",\"id\":\"t\",\"result\":1}"))
                    .runNanos());
            for (String odd : List.of("\"81234\"", "1.5", "null", "-3", "[1]")) {
                Frame.Result result = assertInstanceOf(Frame.Result.class, decode(
                        "{\"v\":1,\"type\":\"result\",\"id\":\"t\",\"runNanos\":" + odd + ",\"result\":1}"));
                assertTrue(result.runNanos() < 0, odd + " gave " + result.runNanos());
            }
        }

        @Test
        void encodedWithRunNanosReadsBackWithTheSameResult() {
            Frame.Result result = assertInstanceOf(Frame.Result.class,
                    decodeLine(codec.encodeResult("t-9", utf8("{\"a\":[1,2]}"), 123_456_789_012L)));
            assertEquals("t-9", result.id());
            assertEquals("{\"a\":[1,2]}", text(result.result()));
            assertEquals(123_456_789_012L, result.runNanos());
            assertEquals(-1, ((Frame.Result) decodeLine(codec.encodeResult("t-9", utf8("1"), -1))).runNanos());
            assertEquals(-1, ((Frame.Result) decodeLine(codec.encodeResult("t-9", utf8("1")))).runNanos());
        }

        @ParameterizedTest
        @ValueSource(strings = {
                "{\"v\":1,\"type\":\"result\",\"result\":1}",
                "{\"v\":1,\"type\":\"result\",\"id\":17,\"result\":1}",
                "{\"v\":1,\"type\":\"result\",\"id\":null,\"result\":1}",
                "{\"v\":1,\"type\":\"result\",\"id\":{\"x\":\"t-1\"},\"result\":1}"})
        void withoutAStringIdIsNotAFrame(String line) {
            Frame.NotAFrame frame = assertInstanceOf(Frame.NotAFrame.class, decode(line));
            assertTrue(frame.why().contains("id"), frame.why());
        }
    }

    @Nested
    class Error {
        @Test
        void withEveryMember() {
            assertEquals(new Frame.Error("t-17", "UNKNOWN_TASK_TYPE", "ValueError", "width must be positive",
                            "Traceback …\n  line 3", false),
                    decode("{\"v\":1,\"type\":\"error\",\"id\":\"t-17\",\"kind\":\"UNKNOWN_TASK_TYPE\","
                            + "\"errorClass\":\"ValueError\",\"message\":\"width must be positive\","
                            + "\"stack\":\"Traceback \u2026\\n  line 3\",\"retryable\":false}"));
        }

        @Test
        void withOnlyTheIdGetsTheDefaults() {
            Frame.Error error = assertInstanceOf(Frame.Error.class, decode("{\"v\":1,\"type\":\"error\",\"id\":\"t-1\"}"));
            assertEquals("t-1", error.id());
            assertEquals("HANDLER_ERROR", error.kind());
            assertEquals("UnknownError", error.errorClass());
            assertNull(error.message());
            assertNull(error.stack());
            assertTrue(error.retryable());
        }

        @Test
        void onlyFalseMakesItNotRetryable() {
            assertTrue(((Frame.Error) decode("{\"v\":1,\"type\":\"error\",\"id\":\"t\",\"retryable\":true}"))
                    .retryable());
            assertTrue(((Frame.Error) decode("{\"v\":1,\"type\":\"error\",\"id\":\"t\",\"retryable\":null}"))
                    .retryable());
            assertFalse(((Frame.Error) decode("{\"v\":1,\"type\":\"error\",\"id\":\"t\",\"retryable\":false}"))
                    .retryable());
        }

        @Test
        void errorClassIsJustAName() {
            Frame.Error error = assertInstanceOf(Frame.Error.class, decode(
                    "{\"v\":1,\"type\":\"error\",\"id\":\"t\",\"errorClass\":\"java.lang.Runtime\"}"));
            assertEquals("java.lang.Runtime", error.errorClass());
        }

        @Test
        void withoutIdIsNotAFrame() {
            assertInstanceOf(Frame.NotAFrame.class, decode("{\"v\":1,\"type\":\"error\",\"message\":\"boom\"}"));
        }

        @Test
        void carriesRunNanosWhenTheWorkerSaysIt() {
            Frame.Error error = assertInstanceOf(Frame.Error.class,
                    decodeLine(codec.encodeError("t", "HANDLER_ERROR", "Boom", "m", "s", true, 4_200)));
            assertEquals(new Frame.Error("t", "HANDLER_ERROR", "Boom", "m", "s", true, 4_200), error);
            assertEquals(-1, ((Frame.Error) decodeLine(codec.encodeError("t", "HANDLER_ERROR", "Boom", "m", "s", true)))
                    .runNanos());
        }
    }

    @Nested
    class HostFrames {
        @Test
        void taskWithPayloadAndTimeout() {
            Frame.Task task = assertInstanceOf(Frame.Task.class, decode(
                    "{\"v\":1,\"type\":\"task\",\"id\":\"t-17\",\"taskType\":\"resize\",\"attempt\":2,"
                            + "\"timeoutMs\":30000,\"payload\":{\"w\":64}}"));
            assertEquals("t-17", task.id());
            assertEquals("resize", task.taskType());
            assertEquals(2, task.attempt());
            assertEquals(30_000, task.timeoutMs());
            assertEquals("{\"w\":64}", text(task.payload()));
        }

        @Test
        void taskWithoutTimeoutOrPayload() {
            Frame.Task task = assertInstanceOf(Frame.Task.class,
                    decode("{\"v\":1,\"type\":\"task\",\"id\":\"t\",\"taskType\":\"ping\"}"));
            assertEquals(1, task.attempt());
            assertEquals(0, task.timeoutMs());
            assertEquals("null", text(task.payload()));
        }

        @Test
        void taskWithoutTaskTypeIsNotAFrame() {
            assertInstanceOf(Frame.NotAFrame.class, decode("{\"v\":1,\"type\":\"task\",\"id\":\"t\",\"payload\":1}"));
            assertInstanceOf(Frame.NotAFrame.class,
                    decode("{\"v\":1,\"type\":\"task\",\"taskType\":\"x\",\"payload\":1}"));
        }

        @Test
        void cancel() {
            assertEquals(new Frame.Cancel("t-17"), decode("{\"v\":1,\"type\":\"cancel\",\"id\":\"t-17\"}"));
            assertInstanceOf(Frame.NotAFrame.class, decode("{\"v\":1,\"type\":\"cancel\"}"));
        }

        @Test
        void shutdown() {
            assertEquals(new Frame.Shutdown(), decode("{\"v\":1,\"type\":\"shutdown\"}"));
        }
    }

    @Nested
    class Tolerance {
        @Test
        void unknownTypeIsUnknownNotAnError() {
            assertEquals(new Frame.Unknown("telemetry"),
                    decode("{\"v\":1,\"type\":\"telemetry\",\"cpu\":[1,2,3],\"detail\":{\"a\":{}}}"));
        }

        @Test
        void unknownMembersAreIgnoredEvenWhenNestedWithKnownNames() {
            Frame frame = decode("{\"v\":1,\"type\":\"cancel\",\"extra\":{\"id\":\"wrong\",\"type\":\"shutdown\","
                    + "\"v\":2},\"more\":[{\"id\":\"also-wrong\"}],\"id\":\"t-1\",\"later\":\"x\"}");
            assertEquals(new Frame.Cancel("t-1"), frame);
        }

        @Test
        void memberOrderDoesNotMatter() {
            assertEquals(new Frame.Cancel("t-1"), decode("{\"id\":\"t-1\",\"type\":\"cancel\",\"v\":1}"));
        }

        @Test
        void whitespaceAroundTheObjectIsAllowed() {
            assertEquals(new Frame.Shutdown(), decode("  {\"v\" : 1, \"type\" : \"shutdown\"}\t "));
        }
    }

    @Nested
    class NotAFrame {
        @ParameterizedTest
        @ValueSource(strings = {
                "",
                "hello world",
                "Exception in thread \"main\" java.lang.RuntimeException",
                "{",
                "{\"v\":1,\"type\":\"shutdown\"",
                "{\"v\":1,\"type\":}",
                "{'v':1,'type':'shutdown'}",
                "[{\"v\":1,\"type\":\"shutdown\"}]",
                "[]",
                "\"shutdown\"",
                "42",
                "null",
                "true",
                "{\"v\":[1],\"type\":\"shutdown\"}"})
        void notAJsonObject(String line) {
            assertInstanceOf(Frame.NotAFrame.class, decode(line));
        }

        @Test
        void keepsTheStartOfTheLineForTheLog() {
            assertEquals("hello world", assertInstanceOf(Frame.NotAFrame.class, decode("hello world")).text());
            String longLine = "x".repeat(1000);
            assertEquals("x".repeat(Frame.NotAFrame.MAX_TEXT_BYTES),
                    assertInstanceOf(Frame.NotAFrame.class, decode(longLine)).text());
            String frame = "{\"v\":1,\"type\":\"shutdown\"}";
            byte[] buffer = utf8(frame + " and then garbage that is not looked at");
            assertEquals(new Frame.Shutdown(), codec.decode(buffer, frame.length()), "only the given length");
            Frame.NotAFrame cut = assertInstanceOf(Frame.NotAFrame.class, codec.decode(buffer, 10));
            assertEquals("{\"v\":1,\"ty", cut.text());
        }

        @Test
        void invalidUtf8IsNotAFrame() {
            byte[] line = {'{', '"', 'v', '"', ':', '1', ',', '"', 't', 'y', 'p', 'e', '"', ':', '"', (byte) 0xff,
                    (byte) 0xfe, '"', '}'};
            assertInstanceOf(Frame.NotAFrame.class, codec.decode(line));
        }

        @Test
        void withoutType() {
            Frame.NotAFrame frame = assertInstanceOf(Frame.NotAFrame.class, decode("{\"v\":1,\"id\":\"t\"}"));
            assertTrue(frame.why().contains("type"), frame.why());
            assertInstanceOf(Frame.NotAFrame.class, decode("{}"));
            assertInstanceOf(Frame.NotAFrame.class, decode("{\"v\":1,\"type\":7}"));
            assertInstanceOf(Frame.NotAFrame.class, decode("{\"v\":1,\"type\":null}"));
        }

        @ParameterizedTest
        @ValueSource(strings = {
                "{\"type\":\"shutdown\"}",
                "{\"v\":2,\"type\":\"shutdown\"}",
                "{\"v\":0,\"type\":\"shutdown\"}",
                "{\"v\":\"1\",\"type\":\"shutdown\"}",
                "{\"v\":null,\"type\":\"shutdown\"}",
                "{\"v\":-1,\"type\":\"shutdown\"}"})
        void wrongOrMissingVersion(String line) {
            Frame.NotAFrame frame = assertInstanceOf(Frame.NotAFrame.class, decode(line));
            assertTrue(frame.why().contains("\"v\""), frame.why());
        }

        @Test
        void decodeNeverThrowsOnGarbage() {
            java.util.Random random = new java.util.Random(5);
            for (int i = 0; i < 2000; i++) {
                byte[] junk = new byte[random.nextInt(40)];
                random.nextBytes(junk);
                if (junk.length > 0) {
                    junk[0] = '{';
                }
                Frame frame = codec.decode(junk);
                assertNotNull(frame, "decode returned null");
            }
        }
    }

    @Nested
    class Encoding {
        static List<String> awkwardIds() {
            return List.of("t-17", "a\"quote", "back\\slash", "caf\u00e9-\u20ac-\uD83D\uDE00", "ctl\u0001\u001f",
                    "new\nline\r", "</script>", "x".repeat(200));
        }

        @ParameterizedTest
        @ValueSource(longs = {0, 1, 9, 10, 99, 100, 999_999, 1_000_000, Integer.MAX_VALUE, Long.MAX_VALUE})
        void numbersOfEveryWidthRoundTrip(long value) {
            int attempt = (int) Math.min(value, Integer.MAX_VALUE);
            Frame.Task task = assertInstanceOf(Frame.Task.class,
                    decodeLine(codec.encodeTask("t-" + value, "echo", attempt, value, utf8("[1]"))));
            assertEquals("t-" + value, task.id());
            assertEquals(attempt, task.attempt());
            assertEquals(value, task.timeoutMs());
            assertArrayEquals(utf8("[1]"), task.payload());
        }

        /** Frames for one worker are written side by side into one array: byte for byte what encodeTask makes. */
        @Test
        void tasksWrittenIntoOneArrayAreTheFramesEncodedAlone() {
            long[] numbers = {0, 1, 9, 10, 99, 100, 999_999, 1_000_000, Integer.MAX_VALUE, Long.MAX_VALUE};
            ByteArrayOutputStream alone = new ByteArrayOutputStream();
            int total = 0;
            for (long value : numbers) {
                int attempt = (int) Math.min(value, Integer.MAX_VALUE);
                byte[] frame = codec.encodeTask("t-" + value, "echo", attempt, value, utf8("\"x\""));
                alone.writeBytes(frame);
                assertEquals(frame.length, FrameCodec.taskFrameBytes("t-" + value, "echo", attempt, value,
                        utf8("\"x\"")));
                total += frame.length;
            }
            byte[] together = new byte[total];
            int at = 0;
            for (long value : numbers) {
                int attempt = (int) Math.min(value, Integer.MAX_VALUE);
                FrameCodec.encodeTask(together, at, "t-" + value, "echo", attempt, value, utf8("\"x\""));
                at += FrameCodec.taskFrameBytes("t-" + value, "echo", attempt, value, utf8("\"x\""));
            }
            assertArrayEquals(alone.toByteArray(), together);
            for (String id : awkwardIds()) {
                if (!id.chars().allMatch(c -> c >= 0x20 && c < 0x7F && c != '"' && c != '\\')) {
                    assertEquals(-1, FrameCodec.taskFrameBytes(id, "echo", 1, 0, utf8("1")), id);
                }
            }
            assertThrows(IllegalStateException.class,
                    () -> FrameCodec.encodeTask(new byte[10], 0, "t-1", "echo", 1, 0, utf8("1")));
        }

        @ParameterizedTest
        @MethodSource("awkwardIds")
        void taskRoundTripsThroughDecode(String id) throws IOException {
            byte[] payload = utf8("{\"w\":64,\"s\":\"caf\u00e9\",\"list\":[1,2,3]}");
            byte[] frame = codec.encodeTask(id, "type \"" + id + "\"", 3, 30_000, payload);
            Frame.Task task = assertInstanceOf(Frame.Task.class, decodeLine(frame));
            assertEquals(id, task.id());
            assertEquals("type \"" + id + "\"", task.taskType());
            assertEquals(3, task.attempt());
            assertEquals(30_000, task.timeoutMs());
            assertArrayEquals(payload, task.payload());
            assertTrue(frame.length - payload.length <= FrameCodec.taskFrameOverhead(id, "type \"" + id + "\""),
                    "taskFrameOverhead must bound the frame's size beyond its payload");
        }

        @Test
        void taskWithoutTimeoutOmitsTheMember() {
            byte[] frame = codec.encodeTask("t-1", "ping", 1, 0, utf8("null"));
            assertFalse(text(frame).contains("timeoutMs"), text(frame));
            Frame.Task task = assertInstanceOf(Frame.Task.class, decodeLine(frame));
            assertEquals(0, task.timeoutMs());
            assertEquals("null", text(task.payload()));
        }

        @Test
        void taskFrameIsTheDocumentedJson() throws IOException {
            byte[] frame = codec.encodeTask("t-17", "resize", 1, 30000, utf8("{\"w\":64}"));
            assertEquals(tree(utf8("{\"v\":1,\"type\":\"task\",\"id\":\"t-17\",\"taskType\":\"resize\",\"attempt\":1,"
                    + "\"timeoutMs\":30000,\"payload\":{\"w\":64}}")), tree(frame));
        }

        @ParameterizedTest
        @ValueSource(strings = {"t-17", "a\"quote", "back\\slash", "caf\u00e9-\uD83D\uDE00", "tab\there"})
        void resultRoundTripsThroughDecode(String id) {
            for (String json : List.of("{\"width\":64}", "[1,[2]]", "\"s\\\"\"", "-0.5", "null", "false")) {
                byte[] frame = codec.encodeResult(id, utf8(json));
                Frame.Result result = assertInstanceOf(Frame.Result.class, decodeLine(frame));
                assertEquals(id, result.id());
                assertEquals(json, text(result.result()));
            }
        }

        @Test
        void toJsonWritesPlainJson() throws IOException {
            assertEquals("{\"a\":1}", text(codec.toJson(Map.of("a", 1))));
            assertEquals("null", text(codec.toJson(null)));
            assertEquals(tree(utf8("{\"width\":64,\"height\":48}")), tree(codec.toJson(new Size(64, 48))));
        }

        @Test
        void otherFramesRoundTrip() {
            assertEquals(new Frame.Cancel("t\"1"), decodeLine(codec.encodeCancel("t\"1")));
            assertEquals(new Frame.Shutdown(), decodeLine(codec.encodeShutdown()));
            assertEquals(new Frame.Ready(4242, 1, List.of("a", "b"), List.of("gpu"), 2),
                    decodeLine(codec.encodeReady(4242, List.of("a", "b"), List.of("gpu"), 2)));
            assertEquals(new Frame.Heartbeat(1, 2, 3), decodeLine(codec.encodeHeartbeat(1, 2, 3)));
            assertEquals(new Frame.Error("t-1", "OUT_OF_MEMORY", "java.lang.OutOfMemoryError", "line1\nline2",
                            "at x\nat y", false),
                    decodeLine(codec.encodeError("t-1", "OUT_OF_MEMORY", "java.lang.OutOfMemoryError",
                            "line1\nline2", "at x\nat y", false)));
        }

        @Test
        void errorWithoutMessageOrStackEncodesEmptyStrings() {
            Frame.Error error = assertInstanceOf(Frame.Error.class,
                    decodeLine(codec.encodeError("t", "HANDLER_ERROR", "E", null, null, true)));
            assertEquals("", error.message());
            assertEquals("", error.stack());
            assertTrue(error.retryable());
        }

        @Test
        void everyEncodedFrameCarriesTheVersion() throws IOException {
            for (byte[] frame : List.of(codec.encodeTask("t", "x", 1, 0, utf8("1")), codec.encodeResult("t", utf8("1")),
                    codec.encodeCancel("t"), codec.encodeShutdown(), codec.encodeHeartbeat(0, 0, 0),
                    codec.encodeReady(1, List.of(), List.of(), 1), codec.encodeError("t", "K", "C", "m", "s", true))) {
                JsonNode node = tree(frame);
                assertEquals(1, node.get("v").asInt(), text(frame));
                assertTrue(node.get("type").isTextual(), text(frame));
            }
        }
    }

    @Nested
    class NoClassNamesFromTheWire {
        private static final String GADGET = "{\"@class\":\"java.lang.Runtime\",\"cmd\":\"rm -rf /\"}";

        @Test
        void payloadNamingAClassIsKeptRaw() {
            Frame.Task task = assertInstanceOf(Frame.Task.class, decode(
                    "{\"v\":1,\"type\":\"task\",\"id\":\"t\",\"taskType\":\"x\",\"payload\":" + GADGET + "}"));
            assertEquals(GADGET, text(task.payload()));
        }

        @Test
        void resultNamingAClassIsKeptRaw() {
            Frame.Result result = assertInstanceOf(Frame.Result.class,
                    decode("{\"v\":1,\"type\":\"result\",\"id\":\"t\",\"result\":" + GADGET + "}"));
            assertEquals(GADGET, text(result.result()));
        }

        @Test
        void readingItAsObjectYieldsAPlainMap() throws IOException {
            Object value = codec.mapper().readValue(utf8(GADGET), Object.class);
            Map<?, ?> map = assertInstanceOf(Map.class, value);
            assertEquals("java.lang.Runtime", map.get("@class"));
            assertEquals("rm -rf /", map.get("cmd"));
        }

        @Test
        void wrapperArrayFormYieldsAPlainList() throws IOException {
            Object value = codec.mapper().readValue(utf8("[\"java.lang.ProcessBuilder\",{\"command\":[\"id\"]}]"),
                    Object.class);
            List<?> list = assertInstanceOf(List.class, value);
            assertEquals("java.lang.ProcessBuilder", list.get(0));
            assertInstanceOf(Map.class, list.get(1));
        }

        @Test
        void nestedClassNamesStayData() throws IOException {
            Holder holder = codec.mapper().readValue(utf8("{\"value\":" + GADGET + "}"), Holder.class);
            assertInstanceOf(Map.class, holder.value());
        }

        @Test
        void mapperHasNoDefaultTyping() {
            assertNull(codec.mapper().getDeserializationConfig().getDefaultTyper(null));
            assertNull(codec.mapper().getSerializationConfig().getDefaultTyper(null));
        }
    }
}
