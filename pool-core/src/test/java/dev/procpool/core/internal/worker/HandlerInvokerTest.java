package dev.procpool.core.internal.worker;

import dev.procpool.TaskContext;
import dev.procpool.TaskHandler;
import dev.procpool.core.internal.protocol.Frame;
import dev.procpool.core.internal.protocol.FrameCodec;
import org.junit.jupiter.api.Test;

import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The Java worker runtime never sends a frame the host would refuse: what it cannot send becomes an error saying why. */
class HandlerInvokerTest {
    private static final int FRAME_LIMIT = 4096;
    private final FrameCodec codec = new FrameCodec();

    /** Returns or throws whatever the test put in its payload's "what". */
    public static final class Tricky implements TaskHandler {
        @Override
        public Set<String> taskTypes() {
            return Set.of("huge-number", "too-deep", "long-message", "fine");
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
}
