package dev.procpool.examples.bench.jmh;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.procpool.core.internal.protocol.Frame;
import dev.procpool.core.internal.protocol.FrameCodec;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

import java.io.IOException;
import java.util.concurrent.TimeUnit;

/**
 * The frame codec, per frame: decoding a result and a task frame the size of the peer workloads' echo (a
 * 100-character string), a result frame with a 16 KiB payload (where the strict scanner's check of the payload is
 * most of the work), and encoding task and result frames. Jackson reading the same lines as trees is the
 * reference: it is what the scanner replaced.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class FrameCodecBenchmark {
    private final FrameCodec codec = new FrameCodec();
    private final ObjectMapper mapper = FrameCodec.newMapper();
    private byte[] smallResult;
    private byte[] smallTask;
    private byte[] largeResult;
    private byte[] payloadJson;

    @Setup
    public void setUp() throws IOException {
        String text = JmhData.payload100();
        payloadJson = mapper.writeValueAsBytes(text);
        smallTask = codec.encodeTask("t-1234567", "echo", 1, 0, payloadJson);
        smallResult = codec.encodeResult("t-1234567", payloadJson);
        largeResult = codec.encodeResult("t-1234567", JmhData.nestedJson(16 * 1024));
        check(codec.decode(smallTask) instanceof Frame.Task, "task");
        check(codec.decode(smallResult) instanceof Frame.Result, "small result");
        check(codec.decode(largeResult) instanceof Frame.Result, "large result");
    }

    private static void check(boolean ok, String what) {
        if (!ok) {
            throw new IllegalStateException("the " + what + " frame does not decode");
        }
    }

    @Benchmark
    public Frame decodeResult100() {
        return codec.decode(smallResult);
    }

    @Benchmark
    public Frame decodeTask100() {
        return codec.decode(smallTask);
    }

    @Benchmark
    public Frame decodeResult16KiB() {
        return codec.decode(largeResult);
    }

    @Benchmark
    public byte[] encodeTask100() {
        return codec.encodeTask("t-1234567", "echo", 1, 0, payloadJson);
    }

    @Benchmark
    public byte[] encodeResult100() {
        return codec.encodeResult("t-1234567", payloadJson);
    }

    /** The reference: a Jackson tree of the same small result line. */
    @Benchmark
    public JsonNode jacksonTreeResult100() throws IOException {
        return mapper.readTree(smallResult);
    }

    /** The reference: a Jackson tree of the same 16 KiB result line. */
    @Benchmark
    public JsonNode jacksonTreeResult16KiB() throws IOException {
        return mapper.readTree(largeResult);
    }
}
