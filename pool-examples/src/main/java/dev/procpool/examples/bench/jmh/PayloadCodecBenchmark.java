package dev.procpool.examples.bench.jmh;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import dev.procpool.PayloadCodec;
import dev.procpool.core.internal.protocol.FrameCodec;
import dev.procpool.core.internal.protocol.Payloads;
import dev.procpool.core.json.JacksonPayloads;
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
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Writing a payload and reading a result, per value, on each path a task takes: the mapper called directly (the
 * reference: what the pool did before payload codecs), the built-in codec ({@code Payloads.write} and the codec's
 * writer and reader), and an application's mapper through {@code JacksonPayloads.using}. The value is a record of a
 * 100-character string and a number, as small as the peer workloads' tasks, where per-call overhead shows most.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class PayloadCodecBenchmark {
    /** A small payload. */
    public record Echo(String text, long n) {
    }

    private final ObjectMapper mapper = FrameCodec.newMapper();
    private final PayloadCodec application = JacksonPayloads.using(JsonMapper.builder().build());
    private Echo value;
    private byte[] json;

    @Setup
    public void setUp() throws IOException {
        value = new Echo(JmhData.payload100(), 42);
        json = mapper.writeValueAsBytes(value);
        if (!application.decode(Payloads.write(application, value), Echo.class).equals(value)) {
            throw new IllegalStateException("the codecs do not round-trip");
        }
    }

    @Benchmark
    public byte[] writeWithTheMapper() throws IOException {
        return mapper.writeValueAsBytes(value);
    }

    @Benchmark
    public byte[] writeWithTheBuiltInCodec() throws IOException {
        return Payloads.write(Payloads.BUILT_IN, value);
    }

    @Benchmark
    public byte[] writeWithAnApplicationMapper() throws IOException {
        return Payloads.write(application, value);
    }

    @Benchmark
    public Echo readWithTheMapper() throws IOException {
        return mapper.readValue(json, Echo.class);
    }

    @Benchmark
    public Echo readWithTheBuiltInCodec() throws IOException {
        return Payloads.BUILT_IN.decode(json, Echo.class);
    }

    @Benchmark
    public Echo readWithAnApplicationMapper() throws IOException {
        return application.decode(json, Echo.class);
    }

    @Benchmark
    public Object readMapWithTheMapper() throws IOException {
        return mapper.readValue(json, Map.class);
    }

    @Benchmark
    public Object readMapWithTheBuiltInCodec() throws IOException {
        return Payloads.BUILT_IN.decode(json, Map.class);
    }
}
