package dev.procpool.examples;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.procpool.examples.bench.BenchmarkHarness;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Runs the benchmark harness end to end with small counts and one run, with real worker JVMs, and checks that every
 * workload produced numbers. It makes no claim about speed: the figures of a smoke run on a shared machine mean
 * nothing.
 */
@Timeout(value = 600, unit = TimeUnit.SECONDS)
class BenchmarkHarnessIT {
    private static final List<String> TABLE_WORKLOADS = List.of("W1", "W2", "W3", "W4", "W5", "Memory", "Spawn");

    @Test
    void quickRunPrintsANumberForEveryWorkload(@TempDir Path temp) throws Exception {
        Path json = temp.resolve("bench.json");
        ByteArrayOutputStream console = new ByteArrayOutputStream();
        int status = BenchmarkHarness.run(new String[] {"--quick", "--runs", "1", "--out", json.toString()},
                new PrintStream(console, true, StandardCharsets.UTF_8));
        String printed = console.toString(StandardCharsets.UTF_8);

        assertEquals(0, status, printed);

        // The results table: workload, metric, unit, median, min–max, ratio; columns at least two spaces apart.
        int table = printed.indexOf("procpool benchmark results");
        assertTrue(table >= 0, printed);
        Map<String, List<String>> medians = new LinkedHashMap<>();
        for (String line : printed.substring(table).split("\n")) {
            if (line.isBlank()) {
                break; // the ratio and target tables follow
            }
            String[] columns = line.trim().split("\\s{2,}");
            if (columns.length >= 5 && TABLE_WORKLOADS.contains(columns[0])) {
                medians.computeIfAbsent(columns[0], w -> new ArrayList<>()).add(columns[3]);
            }
        }
        for (String workload : TABLE_WORKLOADS) {
            List<String> values = medians.getOrDefault(workload, List.of());
            assertFalse(values.isEmpty(), "no row for " + workload + " in:\n" + printed);
            for (String value : values) {
                assertTrue(isNumber(value), workload + " printed \"" + value + "\" instead of a number:\n" + printed);
            }
        }
        assertTrue(printed.contains("× raw pipe p50"), "W1 is compared with the raw pipe:\n" + printed);
        assertTrue(printed.contains("× ExecutorService"), "W2 is compared with the ExecutorService:\n" + printed);
        assertTrue(printed.contains("× ideal"), "W3 is compared with the ideal:\n" + printed);

        // The same figures as JSON.
        JsonNode results = new ObjectMapper().readTree(json.toFile());
        assertEquals(1, results.get("runs").asInt());
        Map<String, Integer> measured = new LinkedHashMap<>();
        for (JsonNode metric : results.get("metrics")) {
            JsonNode median = metric.get("median");
            assertTrue(median.isNumber(), "metric without a value: " + metric);
            assertTrue(median.asDouble() >= 0, "negative figure: " + metric);
            measured.merge(metric.get("workload").asText(), 1, Integer::sum);
        }
        assertEquals(TABLE_WORKLOADS, List.copyOf(measured.keySet()), results::toPrettyString);
        assertTrue(results.get("targets").size() >= 6, results::toPrettyString);
        assertTrue(results.get("machine").get("cpus").asInt() >= 1);
    }

    @Test
    void badArgumentsAreRefused() {
        ByteArrayOutputStream console = new ByteArrayOutputStream();
        int status = BenchmarkHarness.run(new String[] {"--only", "W9"},
                new PrintStream(console, true, StandardCharsets.UTF_8));
        assertEquals(2, status);
        assertTrue(console.toString(StandardCharsets.UTF_8).contains("--only takes workloads among"));
    }

    private static boolean isNumber(String text) {
        try {
            return Double.isFinite(Double.parseDouble(text.replace(",", "")));
        } catch (NumberFormatException e) {
            return false;
        }
    }
}
