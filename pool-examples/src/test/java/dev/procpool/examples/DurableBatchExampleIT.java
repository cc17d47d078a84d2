package dev.procpool.examples;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.procpool.core.testing.ProcessLeakCheck;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link DurableBatchExample} as a user runs it: started as its own process, killed with SIGKILL mid-run, started
 * again with the same arguments. The second run finishes the rest, and its summary accounts for every file exactly
 * once: done, in this run or the earlier one, the attempts the kill cut short marked {@code HOST_LOST}, no file
 * executed more often than it was attempted. A third run finds everything done and runs nothing. No process is left
 * (the killed host's workers included, found by pid and start time).
 */
@Timeout(value = 240, unit = TimeUnit.SECONDS)
class DurableBatchExampleIT {
    private static final String JVM_OPTIONS = System.getProperty("procpool.it.workerJvmOptions", "");
    private static final Pattern PROGRESS = Pattern.compile("progress: (\\d+)/(\\d+) files done");
    private static final int FILES = 40;

    private final ProcessLeakCheck leaks = ProcessLeakCheck.start();
    private final List<Process> started = new ArrayList<>();

    @AfterEach
    void nothingLeftBehind() {
        started.forEach(Process::destroyForcibly); // only after a failure
        leaks.assertNoneLeft(Duration.ofSeconds(30));
    }

    private Process start(Path dir, Path console) throws IOException {
        ProcessBuilder builder = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), DurableBatchExample.class.getName(), dir.toString(),
                "--files", Integer.toString(FILES), "--workers", "2", "--work-ms", "250",
                "--jvm-options", JVM_OPTIONS).redirectErrorStream(true).redirectOutput(console.toFile());
        Process process = builder.start();
        started.add(process);
        return process;
    }

    private static int lastProgress(Path console) throws IOException {
        int done = -1;
        try (BufferedReader lines = new BufferedReader(new InputStreamReader(Files.newInputStream(console),
                StandardCharsets.UTF_8))) {
            for (String line; (line = lines.readLine()) != null; ) {
                Matcher m = PROGRESS.matcher(line);
                if (m.matches()) {
                    done = Integer.parseInt(m.group(1));
                }
            }
        }
        return done;
    }

    @Test
    void killedMidRunItFinishesTheRestWhenRunAgainAndAccountsForEveryFileOnce(@TempDir Path temp) throws Exception {
        Path dir = temp.resolve("batch");
        Path firstConsole = temp.resolve("first.txt");
        Process first = start(dir, firstConsole);
        await("the first run to be well under way").atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(20))
                .until(() -> lastProgress(firstConsole) >= 8 || !first.isAlive());
        assertTrue(first.isAlive(), Files.readString(firstConsole));
        leaks.recordNow(); // its workers, by pid and start time, before they are orphaned
        first.destroyForcibly(); // SIGKILL: no hook, no drain
        assertTrue(first.waitFor(30, TimeUnit.SECONDS));
        int doneBeforeTheKill = lastProgress(firstConsole);
        assertTrue(doneBeforeTheKill < FILES, "killed before the end: " + doneBeforeTheKill);

        Path secondConsole = temp.resolve("second.txt");
        Process second = start(dir, secondConsole);
        assertTrue(second.waitFor(120, TimeUnit.SECONDS), Files.readString(secondConsole));
        String printed = Files.readString(secondConsole);
        assertEquals(0, second.exitValue(), printed);

        JsonNode summary = new ObjectMapper().readTree(dir.resolve("summary.json").toFile());
        assertEquals(FILES, summary.get("files").asInt(), printed);
        assertEquals(FILES, summary.get("succeeded").asInt(), printed);
        Set<String> ids = new HashSet<>();
        int earlier = 0;
        int hostLost = 0;
        for (JsonNode task : summary.get("tasks")) {
            String id = task.get("id").asText();
            assertTrue(ids.add(id), "one line per file: " + id);
            assertEquals("SUCCEEDED", task.get("state").asText(), task.toString());
            int attempts = task.get("attempts").asInt();
            int executions = task.get("executions").asInt();
            assertEquals(attempts - 1, task.get("failedAttempts").size(), task.toString());
            task.get("failedAttempts").forEach(reason -> assertEquals("HOST_LOST", reason.asText(), task.toString()));
            hostLost += task.get("failedAttempts").size();
            assertTrue(executions >= 1 && executions <= attempts, "executed at least once, and again only after "
                    + "a lost attempt: " + task);
            earlier += task.get("thisRun").asBoolean() ? 0 : 1;
            JsonNode output = new ObjectMapper().readTree(dir.resolve("output/" + id + ".json").toFile());
            int n = Integer.parseInt(id.substring("file-".length()));
            assertEquals(n % 7 + 1, output.get("lines").asInt(), output.toString());
        }
        for (int n = 0; n < FILES; n++) {
            assertTrue(ids.contains("file-" + n), "file-" + n + " is in the summary");
        }
        assertTrue(earlier >= doneBeforeTheKill && earlier < FILES, "done in the first run: " + earlier
                + ", reported done before the kill: " + doneBeforeTheKill);
        assertEquals(FILES - earlier, summary.get("thisRun").asInt());
        assertTrue(hostLost >= 1, "the kill cut the running attempts short:\n" + printed);
        assertEquals(hostLost, summary.get("hostLostAttempts").asInt());
        assertTrue(printed.contains("Batch done: " + FILES + " of " + FILES + " files SUCCEEDED"), printed);
        assertTrue(printed.contains("(HOST_LOST, then done)"), printed);

        // Once more: everything was done before; nothing runs again.
        long journalLines = Files.readAllLines(dir.resolve("journal.log")).size();
        Path thirdConsole = temp.resolve("third.txt");
        Process third = start(dir, thirdConsole);
        assertTrue(third.waitFor(120, TimeUnit.SECONDS), Files.readString(thirdConsole));
        assertEquals(0, third.exitValue(), Files.readString(thirdConsole));
        assertTrue(Files.readString(thirdConsole).contains("0 in this run"), Files.readString(thirdConsole));
        assertEquals(journalLines, Files.readAllLines(dir.resolve("journal.log")).size(), "nothing ran again");
    }
}
