package dev.procpool.examples.bench.jmh;

import org.openjdk.jmh.Main;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Runs the JMH micro-benchmarks of the frame codec, the JSON scanner and the task heap:
 *
 * <pre>
 * mvn -B -q install -DskipTests
 * mvn -B -q -pl pool-examples exec:exec -Dexample.main=dev.procpool.examples.bench.jmh.MicroBenchmarks
 * </pre>
 *
 * <p>Arguments are JMH's own and replace the defaults below (e.g. {@code -Dexample.args="TaskHeap -p size=1000"}
 * or {@code "-h"} for JMH's help). The benchmarks' classes carry their own warm-up and measurement settings (one
 * fork, 3 × 1 s warm-up, 5 × 1 s measurement); the default run reports average time per operation, with JMH's
 * error bounds, and writes nothing else.
 */
public final class MicroBenchmarks {
    private MicroBenchmarks() {
    }

    public static void main(String[] args) throws Exception {
        List<String> jmh = new ArrayList<>(Arrays.asList(args));
        if (jmh.isEmpty()) {
            jmh.add(MicroBenchmarks.class.getPackageName() + ".*Benchmark");
        }
        Main.main(jmh.toArray(String[]::new));
    }
}
