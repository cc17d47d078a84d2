package dev.procpool.examples;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.procpool.examples.bench.BenchmarkHarness;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Runs the benchmark harness end to end with small counts and one round, with real worker processes: every peer
 * workload on procpool, the sketch, jest-worker and Python (those two where node/npm and python3 are installed;
 * their columns must otherwise say why they are absent), and every diagnostic. It checks that every system
 * produced its figures, that the ratios were taken, and that no system left a process behind. It makes no claim
 * about speed: the figures of a smoke run on a shared machine mean nothing.
 */
@Timeout(value = 600, unit = TimeUnit.SECONDS)
class BenchmarkHarnessIT {
    private static final List<String> PEER_WORKLOADS = List.of("W1", "W2", "W3", "W4", "W5");
    private static final List<String> DIAGNOSTICS = List.of("D1", "D2", "D3", "D4", "D5", "Memory", "Spawn");
    /** The figure every system must have in each peer workload (W5: without a spare; a spare only where one exists). */
    private static final Map<String, String> HEADLINE = Map.of("W1", "p50", "W2", "rate", "W3", "overIdeal", "W4",
            "first", "W5", "nospare.median");

    @Test
    void quickRunMeasuresEveryPeerWorkloadOnEverySystemAndEveryDiagnostic(@TempDir Path temp) throws Exception {
        Path json = temp.resolve("bench.json");
        ByteArrayOutputStream console = new ByteArrayOutputStream();
        int status = BenchmarkHarness.run(new String[] {"--quick", "--runs", "1", "--out", json.toString()},
                new PrintStream(console, true, StandardCharsets.UTF_8));
        String printed = console.toString(StandardCharsets.UTF_8);
        assertEquals(0, status, printed);

        JsonNode results = new ObjectMapper().readTree(json.toFile());
        assertEquals(1, results.get("runs").asInt());
        boolean node = onPath("node") && onPath("npm");
        boolean python = onPath("python3");
        JsonNode systems = results.get("systems");
        assertTrue(systems.get("procpool").get("present").asBoolean(), systems::toPrettyString);
        assertTrue(systems.get("sketch").get("present").asBoolean(), systems::toPrettyString);
        assertEquals(node, systems.get("jest-worker").get("present").asBoolean(), systems::toPrettyString);
        assertEquals(python, systems.get("python").get("present").asBoolean(), systems::toPrettyString);

        Set<String> seen = new LinkedHashSet<>();
        for (JsonNode workload : results.get("peerWorkloads")) {
            String id = workload.get("workload").asText();
            seen.add(id);
            JsonNode headline = figure(workload, HEADLINE.get(id));
            for (String system : List.of("procpool", "sketch")) {
                assertNumber(headline, system, id);
            }
            if (node && id.equals("W5")) {
                // a peer that never answers after the kill is a result too ("hung"), not a fault of the harness
                JsonNode jest = headline.get("systems").get("jest-worker");
                assertTrue(jest.path("median").isNumber() || jest.path("status").asText().startsWith("hung"),
                        workload::toPrettyString);
            } else if (node) {
                assertNumber(headline, "jest-worker", id);
            } else {
                assertTrue(headline.get("systems").get("jest-worker").get("status").asText().startsWith("absent"),
                        workload::toPrettyString);
            }
            JsonNode pythonCell = headline.get("systems").get("python");
            if (!python) {
                assertTrue(pythonCell.get("status").asText().startsWith("absent"), workload::toPrettyString);
            } else if (id.equals("W5")) {
                // multiprocessing.Pool may never answer after its idle worker is killed: "hung" is a result
                assertTrue(pythonCell.path("median").isNumber() || pythonCell.path("status").asText()
                        .startsWith("hung"), workload::toPrettyString);
            } else {
                assertNumber(headline, "python", id);
            }
            // procpool is compared with every other system that has a figure, within the round
            assertTrue(headline.get("systems").get("sketch").get("procpoolRatio").get("median").isNumber(),
                    workload::toPrettyString);
        }
        assertEquals(Set.copyOf(PEER_WORKLOADS), seen);
        JsonNode w1 = peerWorkload(results, "W1");
        assertNumber(figure(w1, "p50"), "raw-pipe", "W1");
        assertNumber(figure(w1, "workerCpu"), "procpool", "W1");
        assertNumber(figure(peerWorkload(results, "W4"), "first"), "bare-jvm", "W4");
        JsonNode spare = figure(peerWorkload(results, "W5"), "spare.median");
        assertNumber(spare, "procpool", "W5");
        assertNumber(spare, "sketch", "W5");

        // The diagnostics, as before.
        Set<String> diagnostics = new LinkedHashSet<>();
        for (JsonNode metric : results.get("metrics")) {
            JsonNode median = metric.get("median");
            assertTrue(median.isNumber(), "metric without a value: " + metric);
            assertTrue(median.asDouble() >= 0, "negative figure: " + metric);
            String workload = metric.get("workload").asText();
            if (!PEER_WORKLOADS.contains(workload)) {
                diagnostics.add(workload);
            }
        }
        assertEquals(DIAGNOSTICS, List.copyOf(diagnostics), results::toPrettyString);

        // Every goal of issue 15 is judged on a measured figure (those against jest-worker where it is installed).
        assertEquals(11, results.get("goals").size(), results::toPrettyString);
        for (JsonNode goal : results.get("goals")) {
            if (node || !goal.get("label").asText().contains("jest-worker")) {
                assertTrue(goal.get("value").isNumber(), "goal without a figure: " + goal);
            }
        }

        // Nothing left behind, nothing failed.
        for (Iterator<String> keys = results.get("notes").fieldNames(); keys.hasNext(); ) {
            String key = keys.next();
            assertFalse(key.startsWith("leftover.") || key.startsWith("error."),
                    key + ": " + results.get("notes").get(key) + "\n" + printed);
        }

        // The printed tables: one per peer workload, the goals, the diagnostics.
        for (String title : List.of("W1 echo round trip", "W2 throughput", "W3 CPU-bound", "W4 cold start",
                "W5 recovery", "goal (issue 15)", "Diagnostics (")) {
            assertTrue(printed.contains(title), "no \"" + title + "\" in:\n" + printed);
        }
        assertTrue(printed.contains("procpool ÷ system, round trip p50"), printed);
    }

    @Test
    void badArgumentsAreRefusedWithWhatIsAllowed() {
        assertRefused(new String[] {"--only", "W9"}, "--only takes workloads among");
        assertRefused(new String[] {"--systems", "celery"}, "--systems takes systems among");
        assertRefused(new String[] {"--jest-worker-version", "latest; rm -rf /"}, "--jest-worker-version takes");
        assertRefused(new String[] {"--runs", "0"}, "--runs must be a whole number from 1 to 100, was 0");
    }

    private static void assertRefused(String[] args, String message) {
        ByteArrayOutputStream console = new ByteArrayOutputStream();
        int status = BenchmarkHarness.run(args, new PrintStream(console, true, StandardCharsets.UTF_8));
        String printed = console.toString(StandardCharsets.UTF_8);
        assertEquals(2, status, printed);
        assertTrue(printed.contains(message), printed);
        assertTrue(printed.contains("usage: BenchmarkHarness"), printed);
    }

    private static JsonNode peerWorkload(JsonNode results, String id) {
        for (JsonNode workload : results.get("peerWorkloads")) {
            if (workload.get("workload").asText().equals(id)) {
                return workload;
            }
        }
        throw new AssertionError("no peer workload " + id + " in " + results.toPrettyString());
    }

    private static JsonNode figure(JsonNode workload, String key) {
        for (JsonNode figure : workload.get("figures")) {
            if (figure.get("key").asText().equals(key)) {
                return figure;
            }
        }
        throw new AssertionError("no figure " + key + " in " + workload.toPrettyString());
    }

    private static void assertNumber(JsonNode figure, String system, String workload) {
        JsonNode cell = figure.get("systems").get(system);
        assertNotNull(cell, workload + " has no column " + system + ": " + figure.toPrettyString());
        JsonNode median = cell.get("median");
        assertTrue(median != null && median.isNumber() && median.asDouble() >= 0,
                workload + " " + figure.get("key").asText() + " on " + system + ": " + cell.toPrettyString());
    }

    private static boolean onPath(String program) {
        List<String> dirs = new ArrayList<>(List.of(System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)));
        return dirs.stream().anyMatch(dir -> !dir.isEmpty() && Files.isExecutable(Path.of(dir, program)));
    }
}
