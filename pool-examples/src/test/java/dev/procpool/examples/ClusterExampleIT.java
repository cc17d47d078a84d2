package dev.procpool.examples;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.procpool.core.testing.ProcessLeakCheck;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A short {@link ClusterExample} on an embedded PostgreSQL, run as its own process as a user would: three host JVMs
 * share one queue, one of them is killed with SIGKILL mid-run, and the summary accounts for every task once: all
 * succeeded, run by all three hosts (many on a host other than their submitter), the killed host's cut attempts
 * {@code HOST_LOST} and run again. Nothing is left running: hosts, workers, PostgreSQL.
 */
@Timeout(value = 300, unit = TimeUnit.SECONDS)
class ClusterExampleIT {
    private static final String JVM_OPTIONS = System.getProperty("procpool.it.workerJvmOptions", "");
    private static final Pattern POSTMASTER = Pattern.compile("postmaster pid (\\d+)");
    private static final int TASKS = 40;

    private final ProcessLeakCheck leaks = ProcessLeakCheck.start();
    private Process example;

    @AfterEach
    void nothingLeftBehind() {
        if (example != null) {
            example.destroyForcibly(); // only after a failure
        }
        leaks.assertNoneLeft(Duration.ofSeconds(30));
    }

    @Test
    void threeHostsShareTheQueueAndTheOthersRunWhatTheKilledOneLeft(@TempDir Path temp) throws Exception {
        Path console = temp.resolve("console.txt");
        Path summaryFile = temp.resolve("summary.json");
        example = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-cp",
                System.getProperty("java.class.path"), ClusterExample.class.getName(), "--embedded",
                "--hosts", "3", "--tasks", Integer.toString(TASKS), "--work-ms", "250", "--workers", "1",
                "--kill-one-after", "3s", "--summary", summaryFile.toString(), "--jvm-options", JVM_OPTIONS)
                .redirectErrorStream(true).redirectOutput(console.toFile()).start();
        await("the embedded PostgreSQL").atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(50))
                .until(() -> POSTMASTER.matcher(Files.readString(console)).find() || !example.isAlive());
        Matcher postmaster = POSTMASTER.matcher(Files.readString(console));
        assertTrue(postmaster.find(), Files.readString(console));
        long pid = Long.parseLong(postmaster.group(1));
        leaks.record(pid); // daemonized by pg_ctl: not a descendant of this JVM
        ProcessHandle.of(pid).ifPresent(p -> p.descendants().forEach(d -> leaks.record(d.pid())));

        assertTrue(example.waitFor(240, TimeUnit.SECONDS), Files.readString(console));
        String printed = Files.readString(console);
        assertEquals(0, example.exitValue(), printed);
        assertTrue(printed.contains("killed h3 (pid "), printed);
        assertTrue(printed.contains("host  pid      state"), "the live table:\n" + printed);

        JsonNode summary = new ObjectMapper().readTree(summaryFile.toFile());
        JsonNode audit = summary.get("audit");
        assertEquals("h3", summary.get("killed").asText(), summary.toPrettyString());
        assertEquals(3 * TASKS, audit.get("total").asInt(), summary.toPrettyString());
        assertEquals(3 * TASKS, audit.get("succeeded").asInt(), summary.toPrettyString());
        assertEquals(0, audit.get("missing").asInt(), summary.toPrettyString());
        int ran = 0;
        for (String host : new String[] {"h1", "h2", "h3"}) {
            int count = audit.get("ranBy").path(host).asInt();
            assertTrue(count > 0, host + " ran tasks: " + summary.toPrettyString());
            ran += count;
        }
        assertEquals(3 * TASKS, ran, "each task ran to its end on one host: " + summary.toPrettyString());
        assertTrue(audit.get("ranElsewhere").asInt() > 0, summary.toPrettyString());
        assertTrue(audit.get("hostLostAttempts").asInt() >= 1, "the kill cut h3's running attempt short: "
                + summary.toPrettyString());
        assertTrue(printed.contains("Summary (from the store, by h1): " + 3 * TASKS + " tasks, " + 3 * TASKS
                + " SUCCEEDED, 0 missing"), printed);
        example = null;
    }

    @Test
    void badArgumentsAreRefusedByName() throws Exception {
        ByteArrayOutputStream console = new ByteArrayOutputStream();
        PrintStream out = new PrintStream(console, true, StandardCharsets.UTF_8);
        assertEquals(2, ClusterExample.run(new String[] {"--url", "tasks.db"}, out));
        assertTrue(console.toString(StandardCharsets.UTF_8).contains("--url must be a PostgreSQL JDBC URL"), console::toString);
        assertEquals(2, ClusterExample.run(new String[] {"--embedded", "--kill-one-after", "soon"}, out));
        assertTrue(console.toString(StandardCharsets.UTF_8).contains("--kill-one-after must be a duration"),
                console::toString);
        assertEquals(2, ClusterExample.run(new String[] {"--url", "jdbc:postgresql://h/db?password=x"}, out));
        assertTrue(console.toString(StandardCharsets.UTF_8).contains("--url must not carry a password"),
                console::toString);
    }
}
