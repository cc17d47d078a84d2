package dev.procpool.packaging;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Measures how long a Java worker of a Spring Boot executable jar takes from launch to its {@code ready} frame,
 * started each way the pool can start it, against a plain class path of the same jars in the same run; and how long
 * the one-time extraction takes. Not part of the suite; run it with
 * {@code mvn -pl pool-examples/packaging verify -Dit.test=WorkerStartupMeasurementIT -Dprocpool.measure=true}.
 *
 * <p>A run on the 2-core build machine shared with other builds (JDK 17.0.15, default worker JVM options, 3
 * warm-up rounds then 15 rounds taking the variants in turn; ms: median [min – max], ratio of medians to the plain
 * class path of the same jars):
 * <pre>
 * plain class path (baseline)           277 [ 169 –  625]  ×1.00
 * plain class path + AppCDS              99 [  78 –  228]  ×0.36
 * Boot jar extracted                    263 [ 171 –  606]  ×0.95
 * Boot jar extracted + AppCDS           131 [  79 –  293]  ×0.47
 * Boot PropertiesLauncher               495 [ 324 – 1434]  ×1.79
 * Boot PropertiesLauncher + AppCDS      424 [ 282 –  957]  ×1.53
 * one-time extraction of the 4234 KiB jar: 18 ms median [15 – 26]
 * </pre>
 */
@EnabledIfSystemProperty(named = "procpool.measure", matches = "true")
class WorkerStartupMeasurementIT {
    private static final Path TARGET = Path.of("target").toAbsolutePath();
    private static final String WORKER_MAIN = "dev.procpool.core.internal.worker.WorkerMain";
    private static final String HANDLER = UpperHandler.class.getName();
    private static final List<String> DEFAULT_OPTIONS = List.of("-XX:+UseSerialGC", "-Xshare:auto",
            "-XX:-UsePerfData", "-XX:+ExitOnOutOfMemoryError");
    private static final int WARM_UP = 3;
    private static final int ROUNDS = 15;

    @Test
    void workerStartUpFromEachWayOfRunningABootJar(@TempDir Path dir) throws Exception {
        Path bootJar;
        Path hostJar;
        try (Stream<Path> files = Files.list(TARGET)) {
            List<Path> jars = files.filter(p -> p.getFileName().toString().startsWith("pool-packaging-tests-"))
                    .toList();
            bootJar = jars.stream().filter(p -> p.toString().endsWith("-boot.jar")).findFirst().orElseThrow();
            hostJar = jars.stream().filter(p -> p.toString().endsWith("-SNAPSHOT.jar")).findFirst().orElseThrow();
        }
        List<Path> plain = new ArrayList<>(List.of(hostJar));
        try (Stream<Path> jars = Files.list(TARGET.resolve("modules"))) {
            plain.addAll(jars.sorted().toList());
        }

        // the one-time extraction, each time into a fresh cache directory, as the host logs it
        List<Long> extractions = new ArrayList<>();
        String extractedClassPath = null;
        for (int i = 0; i < 5; i++) {
            HostRun run = HostRun.of(HostRun.java("-jar", bootJar.toString(), "--cache",
                    dir.resolve("cache-" + i).toString()), TARGET);
            Matcher extracted = Pattern.compile("extracted .* in (\\d+) ms").matcher(String.join("\n", run.lines()));
            assertTrue(extracted.find(), run.toString());
            extractions.add(Long.parseLong(extracted.group(1)));
            Matcher classPath = Pattern.compile("\"classPath\":\"([^\"]*)\"").matcher(run.tagged("RESULT").get(0));
            assertTrue(classPath.find(), run.toString());
            extractedClassPath = classPath.group(1);
        }

        Map<String, List<String>> variants = new LinkedHashMap<>();
        String plainClassPath = plain.stream().map(Path::toString).collect(Collectors.joining(File.pathSeparator));
        variants.put("plain class path (baseline)", List.of("-cp", plainClassPath, WORKER_MAIN));
        variants.put("plain class path + AppCDS", withArchive(dir, "plain",
                List.of("-cp", plainClassPath, WORKER_MAIN)));
        variants.put("Boot jar extracted", List.of("-cp", extractedClassPath, WORKER_MAIN));
        variants.put("Boot jar extracted + AppCDS", withArchive(dir, "extracted",
                List.of("-cp", extractedClassPath, WORKER_MAIN)));
        List<String> launcher = List.of("-cp", bootJar.toString(), "-Dloader.main=" + WORKER_MAIN,
                "org.springframework.boot.loader.launch.PropertiesLauncher");
        variants.put("Boot PropertiesLauncher", launcher);
        variants.put("Boot PropertiesLauncher + AppCDS", withArchive(dir, "launcher", launcher));

        Map<String, List<Long>> times = new LinkedHashMap<>();
        for (int round = 0; round < WARM_UP + ROUNDS; round++) {
            for (Map.Entry<String, List<String>> variant : variants.entrySet()) {
                long micros = startToReady(variant.getValue());
                if (round >= WARM_UP) {
                    times.computeIfAbsent(variant.getKey(), k -> new ArrayList<>()).add(micros);
                }
            }
        }

        StringBuilder table = new StringBuilder();
        double baseline = median(times.values().iterator().next());
        for (Map.Entry<String, List<Long>> variant : times.entrySet()) {
            List<Long> sorted = variant.getValue().stream().sorted().toList();
            table.append(String.format("%-34s %6.0f [%4.0f – %4.0f]  ×%.2f%n", variant.getKey(),
                    median(sorted) / 1000, sorted.get(0) / 1000.0, sorted.get(sorted.size() - 1) / 1000.0,
                    median(sorted) / baseline));
        }
        List<Long> sortedExtractions = extractions.stream().sorted().toList();
        table.append(String.format("one-time extraction of the %d KiB jar: %d ms median [%d – %d]%n",
                Files.size(bootJar) / 1024, sortedExtractions.get(sortedExtractions.size() / 2),
                sortedExtractions.get(0), sortedExtractions.get(sortedExtractions.size() - 1)));
        System.out.println("Worker start-up, launch to ready, ms: median [min – max], ratio to the baseline\n"
                + table);
    }

    /** The variant with an archive dumped by one run of it: {@code -XX:SharedArchiveFile} before its arguments. */
    private static List<String> withArchive(Path dir, String name, List<String> arguments) throws Exception {
        Path archive = dir.resolve(name + ".jsa");
        List<String> dump = new ArrayList<>(List.of("-XX:ArchiveClassesAtExit=" + archive));
        dump.addAll(arguments);
        startToReady(dump);
        assertTrue(Files.size(archive) > 0, "no archive written for " + name);
        List<String> map = new ArrayList<>(List.of("-XX:SharedArchiveFile=" + archive));
        map.addAll(arguments);
        return map;
    }

    /** Launches a worker, waits for its ready frame, closes its stdin and waits for its exit; micros to ready. */
    private static long startToReady(List<String> arguments) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java")
                .toString()));
        command.addAll(DEFAULT_OPTIONS);
        command.addAll(arguments);
        command.add(HANDLER);
        long started = System.nanoTime();
        Process worker = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        long ready = -1;
        try (BufferedReader out = new BufferedReader(new InputStreamReader(worker.getInputStream(),
                StandardCharsets.UTF_8))) {
            for (String line = out.readLine(); line != null; line = out.readLine()) {
                if (line.contains("\"type\":\"ready\"")) {
                    ready = System.nanoTime();
                    break;
                }
            }
            worker.getOutputStream().close(); // stdin ends: the worker exits
            if (!worker.waitFor(30, TimeUnit.SECONDS)) {
                worker.destroyForcibly();
                throw new AssertionError("worker did not exit: " + command);
            }
        }
        if (ready < 0) {
            throw new AssertionError("worker never got ready: " + command);
        }
        return (ready - started) / 1000;
    }

    private static double median(List<Long> values) {
        List<Long> sorted = values.stream().sorted().toList();
        int n = sorted.size();
        return n % 2 == 1 ? sorted.get(n / 2) : (sorted.get(n / 2 - 1) + sorted.get(n / 2)) / 2.0;
    }
}
