package dev.procpool.examples.bench.jmh;

import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;

/**
 * The strict JSON scanner alone: checking (skipping) one value of each kind that payloads are made of. The scanner
 * is package-private in pool-core; it is reached through method handles (pool-examples runs on the class path,
 * where pool-core's packages are open to it), which the JIT inlines as constants.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class JsonScannerBenchmark {
    private static final MethodHandle NEW;
    private static final MethodHandle SKIP_VALUE;

    static {
        try {
            Class<?> scanner = Class.forName("dev.procpool.core.internal.protocol.JsonScanner");
            MethodHandles.Lookup lookup = MethodHandles.privateLookupIn(scanner, MethodHandles.lookup());
            NEW = lookup.findConstructor(scanner, MethodType.methodType(void.class, byte[].class, int.class,
                    int.class)).asType(MethodType.methodType(Object.class, byte[].class, int.class, int.class));
            SKIP_VALUE = lookup.findVirtual(scanner, "skipValue", MethodType.methodType(void.class))
                    .asType(MethodType.methodType(void.class, Object.class));
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    /** What the value is: a nested object of mixed values, a long string with escapes, an array of numbers. */
    @Param({"object", "string", "numbers"})
    public String kind;

    private byte[] value;

    @Setup
    public void setUp() throws Throwable {
        value = switch (kind) {
            case "object" -> JmhData.nestedJson(16 * 1024);
            case "string" -> string(16 * 1024);
            case "numbers" -> numbers(16 * 1024);
            default -> throw new IllegalArgumentException(kind);
        };
        skip(); // fails here, not in the measurement, if the scanner refuses the input
    }

    @Benchmark
    public Object skip() throws Throwable {
        Object scanner = (Object) NEW.invokeExact(value, 1000, 1000);
        SKIP_VALUE.invokeExact(scanner);
        return scanner;
    }

    private static byte[] string(int bytes) {
        StringBuilder json = new StringBuilder("\"");
        while (json.length() < bytes) {
            json.append("plain ascii text, \\\"quoted\\\", a tab\\t, ünïcödé, \\u00e9, 漢字 ");
        }
        return json.append('"').toString().getBytes(StandardCharsets.UTF_8);
    }

    private static byte[] numbers(int bytes) {
        StringBuilder json = new StringBuilder("[");
        for (int i = 0; json.length() < bytes; i++) {
            json.append(i == 0 ? "" : ",").append(i * 7919L).append(',').append(-i).append(".5e3");
        }
        return json.append(']').toString().getBytes(StandardCharsets.UTF_8);
    }
}
