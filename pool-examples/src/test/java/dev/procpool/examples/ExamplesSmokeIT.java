package dev.procpool.examples;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Runs the examples end to end, with real worker JVMs, on small inputs. */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class ExamplesSmokeIT {
    /** Fast-starting worker JVM flags from the build (see it.workerJvmOptions in the parent pom). */
    private static final String JVM_OPTIONS = System.getProperty("procpool.it.workerJvmOptions", "");

    @Test
    void batchExampleProcessesEveryFileAndWritesSummary(@TempDir Path temp) throws Exception {
        Path sources = Files.createDirectories(temp.resolve("src/demo"));
        Files.writeString(sources.resolve("Alpha.java"), """
                package demo;

                public class Alpha {
                    private int count;
                    private final String name = "a";

                    public Alpha() {
                    }

                    int next() {
                        Runnable r = () -> count++;
                        r.run();
                        return count;
                    }
                }
                """);
        Files.writeString(sources.resolve("Beta.java"), """
                package demo;

                interface Beta {
                    record Point(int x, int y) {
                    }

                    enum Color { RED, GREEN }

                    void draw();
                }
                """);
        Files.writeString(sources.resolve("Broken.java"), """
                package demo;

                class Broken {
                    void oops( {
                        int x = ;
                    }
                """);
        // Hidden and target folders are skipped.
        Files.createDirectories(temp.resolve("target"));
        Files.writeString(temp.resolve("target/Generated.java"), "class Generated {}");
        Path out = temp.resolve("out");

        ByteArrayOutputStream console = new ByteArrayOutputStream();
        int status = BatchExample.run(new String[] {temp.toString(), "--workers", "2", "--compare", "1",
                "--out", out.toString(), "--jvm-options", JVM_OPTIONS}, printTo(console));
        String printed = console.toString(StandardCharsets.UTF_8);

        assertEquals(0, status, printed);
        assertTrue(printed.contains("Processed 3 of 3 files"), printed);
        assertTrue(printed.contains("pool: ") && printed.contains("ms/file vs one JVM per file"), printed);

        JsonNode summary = new ObjectMapper().readTree(out.resolve("summary.json").toFile());
        assertEquals(3, summary.get("totalFiles").asInt(), summary::toPrettyString);
        assertEquals(3, summary.get("processed").asInt(), summary::toPrettyString);
        assertEquals(0, summary.get("failed").size(), summary::toPrettyString);
        assertTrue(summary.get("startupMillis").asLong() > 0, summary::toPrettyString);
        assertTrue(summary.get("elapsedMillis").asLong() >= summary.get("startupMillis").asLong());
        assertTrue(summary.get("filesPerSecondAfterStartup").asDouble() >= summary.get("filesPerSecond").asDouble());
        JsonNode perFile = summary.get("files");
        assertEquals(3, perFile.size(), summary::toPrettyString);
        for (JsonNode file : perFile) {
            assertTrue(file.get("file").asText().endsWith(".java") && file.get("workerPid").asLong() > 0,
                    summary::toPrettyString);
        }
        assertTrue(printed.contains("files/s with the workers' start-up"), printed);

        JsonNode totals = summary.get("totals");
        assertEquals(2, totals.get("classes").asInt(), "Alpha and Broken");
        assertEquals(1, totals.get("interfaces").asInt());
        assertEquals(1, totals.get("records").asInt());
        assertEquals(1, totals.get("enums").asInt());
        assertEquals(1, totals.get("lambdas").asInt());
        assertTrue(totals.get("problems").asInt() > 0, summary::toPrettyString);

        JsonNode problemFiles = summary.get("filesWithProblems");
        assertEquals(1, problemFiles.size(), summary::toPrettyString);
        assertTrue(problemFiles.get(0).get("file").asText().endsWith("Broken.java"));
        assertTrue(problemFiles.get(0).get("problems").asInt() > 0);
        assertTrue(problemFiles.get(0).get("problemMessages").get(0).asText().startsWith("line "));

        JsonNode workers = summary.get("workers");
        int tasks = 0;
        for (JsonNode worker : workers) {
            assertTrue(worker.get("pid").asLong() > 0, summary::toPrettyString);
            assertTrue(worker.get("peakRssBytes").asLong() >= 0);
            tasks += worker.get("tasks").asInt();
        }
        assertEquals(3, tasks, summary::toPrettyString);
        assertNotEquals(ProcessHandle.current().pid(), workers.get(0).get("pid").asLong(),
                "tasks ran in worker processes, not in the test's JVM");

        JsonNode comparison = summary.get("comparison");
        assertEquals(1, comparison.get("files").asInt());
        assertEquals(0, comparison.get("failures").asInt(), summary::toPrettyString);
        assertTrue(comparison.get("oneJvmPerFileMillisPerFile").asDouble() > 0);
    }

    @Test
    void batchExampleRejectsBadArguments() throws Exception {
        ByteArrayOutputStream console = new ByteArrayOutputStream();
        int status = BatchExample.run(new String[] {"--workers", "zero"}, printTo(console));
        assertEquals(2, status);
        assertTrue(console.toString(StandardCharsets.UTF_8).contains("--workers must be"));
    }

    @Test
    void quickstartExampleRuns() throws Exception {
        ByteArrayOutputStream console = new ByteArrayOutputStream();
        int status = QuickstartExample.run(new String[] {"--jvm-options", JVM_OPTIONS},
                printTo(console));
        String printed = console.toString(StandardCharsets.UTF_8);

        assertEquals(0, status, printed);
        assertTrue(printed.contains("\"Hello, Ada!\""), printed);
        assertTrue(printed.contains("Failed as expected: reason HANDLER_ERROR"), printed);
        assertTrue(printed.contains("java.lang.IllegalArgumentException: name must not be blank"), printed);
        assertTrue(printed.contains("12 squared is 144"), printed);
        assertTrue(printed.contains("w-"), printed);
    }

    private static PrintStream printTo(ByteArrayOutputStream console) {
        return new PrintStream(console, true, StandardCharsets.UTF_8);
    }
}
