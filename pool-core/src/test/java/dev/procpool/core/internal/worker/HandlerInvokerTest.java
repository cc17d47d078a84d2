package dev.procpool.core.internal.worker;

import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.datatype.jdk8.Jdk8Module;
import com.fasterxml.jackson.datatype.jsr310.JavaTimeModule;
import dev.procpool.PayloadCodec;
import dev.procpool.TaskContext;
import dev.procpool.TaskHandler;
import dev.procpool.core.json.JacksonPayloads;
import dev.procpool.core.internal.protocol.Frame;
import dev.procpool.core.internal.protocol.FrameCodec;
import org.junit.jupiter.api.Test;

import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The Java worker runtime never sends a frame the host would refuse: what it cannot send becomes an error saying why. */
class HandlerInvokerTest {
    private static final int FRAME_LIMIT = 4096;
    private final FrameCodec codec = new FrameCodec();

    /** Returns or throws whatever the test put in its payload's "what". */
    public static final class Tricky implements TaskHandler {
        @Override
        public Set<String> taskTypes() {
            return Set.of("huge-number", "too-deep", "long-message", "fine", "slow", "slow-failure");
        }

        @Override
        public Object handle(TaskContext context) {
            return switch (context.taskType()) {
                case "huge-number" -> Map.of("n", new BigInteger("7".repeat(1001)));
                case "too-deep" -> {
                    Object value = List.of();
                    for (int i = 1; i < 1000; i++) {
                        value = List.of(value);
                    }
                    yield value;
                }
                case "long-message" -> throw new IllegalStateException("\u0001".repeat(100_000));
                case "slow", "slow-failure" -> {
                    long until = System.nanoTime() + 20_000_000;
                    while (System.nanoTime() < until) {
                        Thread.onSpinWait();
                    }
                    if (context.taskType().equals("slow-failure")) {
                        throw new IllegalStateException("slow and broken");
                    }
                    yield "done";
                }
                default -> "ok";
            };
        }
    }

    /** The frame the invoker answers with, decoded as the host decodes it. */
    private Frame answer(String taskType, List<byte[]> sideFrames) {
        HandlerInvoker invoker = new HandlerInvoker(codec, Map.of(taskType, new Tricky()), FRAME_LIMIT);
        Frame.Task task = new Frame.Task("t-1", taskType, 1, 0, "null".getBytes(StandardCharsets.UTF_8));
        byte[] frame = invoker.invoke(new WorkerTaskContext(task, codec, sideFrames::add));
        assertTrue(frame.length - 1 <= FRAME_LIMIT, "a frame of " + frame.length + " bytes");
        return codec.decode(Arrays.copyOf(frame, frame.length - 1));
    }

    @Test
    void answersSayHowLongTheTaskTookSoThatTheHostCanSizeItsSendAhead() {
        Frame.Result result = assertInstanceOf(Frame.Result.class, answer("slow", new ArrayList<>()));
        assertTrue(result.runNanos() >= 20_000_000 && result.runNanos() < 20_000_000_000L, "" + result.runNanos());
        Frame.Error error = assertInstanceOf(Frame.Error.class, answer("slow-failure", new ArrayList<>()));
        assertTrue(error.runNanos() >= 20_000_000 && error.runNanos() < 20_000_000_000L, "" + error.runNanos());
        assertTrue(((Frame.Result) answer("fine", new ArrayList<>())).runNanos() >= 0);
    }

    @Test
    void aResultWithANumberTheHostCannotReadBecomesAnErrorSayingWhy() {
        Frame.Error error = assertInstanceOf(Frame.Error.class, answer("huge-number", new ArrayList<>()));
        assertEquals("t-1", error.id());
        assertEquals("FrameLimitExceeded", error.errorClass());
        assertFalse(error.retryable(), "the same task would fail the same way");
        assertTrue(error.message().contains("a number of 1001 digits, over the limit of 1000"), error.message());
    }

    @Test
    void aResultNestedTooDeepForAFrameBecomesAnError() {
        Frame.Error error = assertInstanceOf(Frame.Error.class, answer("too-deep", new ArrayList<>()));
        assertTrue(error.message().contains("nested deeper than 1000 levels"), error.message());
    }

    @Test
    void anErrorWithAHugeMessageStillFitsTheFrame() {
        Frame.Error error = assertInstanceOf(Frame.Error.class, answer("long-message", new ArrayList<>()));
        assertEquals(IllegalStateException.class.getName(), error.errorClass());
    }

    @Test
    void aLongProgressMessageIsCutSoTheFrameFitsTheSmallestLimit() {
        List<byte[]> frames = new ArrayList<>();
        Frame.Task task = new Frame.Task("x".repeat(200), "fine", 1, 0, "null".getBytes(StandardCharsets.UTF_8));
        new WorkerTaskContext(task, codec, frames::add).progress(7, "\u0002".repeat(50_000));
        assertEquals(1, frames.size());
        assertTrue(frames.get(0).length - 1 <= 1024, "a progress frame of " + frames.get(0).length + " bytes");
        Frame.Progress progress = assertInstanceOf(Frame.Progress.class,
                codec.decode(Arrays.copyOf(frames.get(0), frames.get(0).length - 1)));
        assertEquals(1.0, progress.fraction());
    }

    @Test
    void anOrdinaryResultIsSentAsIs() {
        Frame.Result result = assertInstanceOf(Frame.Result.class, answer("fine", new ArrayList<>()));
        assertEquals("\"ok\"", new String(result.result(), StandardCharsets.UTF_8));
    }

    public record Meeting(String title, Instant at, Optional<String> room) {
    }

    /** Private state and no accessors: Jackson finds nothing to write. */
    public static final class Sealed {
        @SuppressWarnings("unused")
        private final String secret = "kept inside";
    }

    /** Reads and writes with the application's mapper: instants as ISO-8601 text, optionals as their value. */
    public static final class Timely implements TaskHandler {
        static final PayloadCodec JSON = JacksonPayloads.using(JsonMapper.builder().addModule(new JavaTimeModule())
                .addModule(new Jdk8Module()).disable(SerializationFeature.WRITE_DATES_AS_TIMESTAMPS)
                .enable(SerializationFeature.INDENT_OUTPUT).build());

        @Override
        public Set<String> taskTypes() {
            return Set.of("postpone");
        }

        @Override
        public Optional<PayloadCodec> payloadCodec() {
            return Optional.of(JSON);
        }

        @Override
        public Object handle(TaskContext context) {
            Meeting meeting = context.payload(Meeting.class);
            return new Meeting(meeting.title(), meeting.at().plusSeconds(3600), Optional.of("moved"));
        }
    }

    /** The built-in codec: it knows no java.time and finds nothing to write in {@link Sealed}. */
    public static final class Plain implements TaskHandler {
        @Override
        public Set<String> taskTypes() {
            return Set.of("now", "sealed");
        }

        @Override
        public Object handle(TaskContext context) {
            return context.taskType().equals("now") ? Instant.EPOCH : new Sealed();
        }
    }

    private static Frame run(HandlerInvoker invoker, String taskType, String payload) {
        Frame.Task task = new Frame.Task("t-1", taskType, 1, 0, payload.getBytes(StandardCharsets.UTF_8));
        byte[] frame = invoker.invoke(invoker.context(task, f -> { }, WorkerControls.NONE));
        return new FrameCodec().decode(Arrays.copyOf(frame, frame.length - 1));
    }

    @Test
    void eachHandlerReadsAndWritesWithItsOwnCodec() {
        HandlerInvoker invoker = new HandlerInvoker(codec, HandlerInvoker.createHandlers(
                List.of(Timely.class.getName(), Plain.class.getName())), FRAME_LIMIT);

        Frame.Result moved = assertInstanceOf(Frame.Result.class, run(invoker, "postpone",
                "{\"title\":\"review\",\"at\":\"2030-01-02T03:04:05Z\",\"room\":null}"));
        assertEquals("{\"title\":\"review\",\"at\":\"2030-01-02T04:04:05Z\",\"room\":\"moved\"}",
                new String(moved.result(), StandardCharsets.UTF_8), "the handler's mapper wrote it, without its indent");

        Frame.Error now = assertInstanceOf(Frame.Error.class, run(invoker, "now", "null"));
        assertEquals("ResultNotWritable", now.errorClass());
        assertTrue(now.message().contains("(java.time.Instant) cannot be written as JSON by the built-in Jackson "
                + "mapper"), now.message());
    }

    @Test
    void aResultWithNothingToWriteFailsTheTaskInsteadOfSendingAnEmptyObject() {
        HandlerInvoker invoker = new HandlerInvoker(codec, Map.of("sealed", new Plain()), FRAME_LIMIT);
        Frame.Error error = assertInstanceOf(Frame.Error.class, run(invoker, "sealed", "null"));
        assertEquals("ResultNotWritable", error.errorClass());
        assertFalse(error.retryable(), "the same result would fail the same way");
        assertTrue(error.message().startsWith("the result of task t-1 (" + Sealed.class.getName() + ") cannot be "
                + "written as JSON by the built-in Jackson mapper: No serializer found for class "
                + Sealed.class.getName()), error.message());
    }

    @Test
    void aHandlerWhoseCodecIsNullIsRefusedWhenTheWorkerStarts() {
        TaskHandler broken = new TaskHandler() {
            @Override
            public Set<String> taskTypes() {
                return Set.of("x");
            }

            @Override
            public Object handle(TaskContext context) {
                return null;
            }

            @Override
            @SuppressWarnings("OptionalAssignedToNull")
            public Optional<PayloadCodec> payloadCodec() {
                return null;
            }
        };
        IllegalArgumentException refused = assertThrows(IllegalArgumentException.class,
                () -> new HandlerInvoker(codec, Map.of("x", broken), FRAME_LIMIT));
        assertTrue(refused.getMessage().contains("returned null from payloadCodec()"), refused.getMessage());
    }
}
