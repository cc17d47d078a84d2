package dev.procpool.examples;

import com.fasterxml.jackson.databind.JsonNode;
import dev.procpool.core.testing.ProcessLeakCheck;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The daemon with a durable task store ({@code POOL_STORE}), run as its own process: killed with SIGKILL it loses
 * nothing (started again on the same SQLite file it runs what was queued, and again what the kill cut short, each
 * task ending once), several daemons on one PostgreSQL share the queue, and a bad {@code POOL_STORE} stops the start
 * with a message naming it. Every test ends with no process left: daemons, their workers, PostgreSQL's (by pid and
 * start time, orphans included).
 */
@Timeout(value = 240, unit = TimeUnit.SECONDS)
class DaemonStoreIT {
    private static final String JVM_OPTIONS = System.getProperty("procpool.it.workerJvmOptions", "");

    private final ProcessLeakCheck leaks = ProcessLeakCheck.start();
    private final List<DaemonProcess> daemons = new ArrayList<>();

    @AfterEach
    void nothingLeftBehind() {
        daemons.forEach(d -> d.process.destroyForcibly()); // only after a failure: a passing test stopped them
        leaks.assertNoneLeft(Duration.ofSeconds(30));
    }

    private DaemonProcess start(Map<String, String> env) throws IOException {
        DaemonProcess daemon = DaemonProcess.start(env);
        daemons.add(daemon);
        leaks.recordNow();
        return daemon;
    }

    private static Map<String, String> env(String name, String store, Path pidFile, String... more) {
        Map<String, String> env = new HashMap<>(Map.of("POOL_PORT", "0", "POOL_SIZE", "2", "POOL_NAME", name,
                "POOL_STORE", store, "POOL_HANDLERS", JournalHandler.class.getName(),
                "POOL_JVM_OPTIONS", JVM_OPTIONS, "POOL_PID_FILE", pidFile.toString()));
        for (int i = 0; i < more.length; i += 2) {
            env.put(more[i], more[i + 1]);
        }
        return env;
    }

    private static String journalTask(String id, Path journal, int ms) {
        return "{\"type\": \"" + JournalHandler.TYPE + "\", \"id\": \"" + id + "\", \"payload\": {\"journal\": \""
                + journal + "\", \"ms\": " + ms + "}}";
    }

    @Test
    void aDaemonKilledWithSigkillLosesNoTaskAndRunsEachToOneEndAfterARestart(@TempDir Path temp) throws Exception {
        Path journal = temp.resolve("journal.txt");
        Path pidFile = temp.resolve("run/procpoold.pid");
        Map<String, String> env = env("durable-it", "sqlite:" + temp.resolve("store/tasks.db"), pidFile);
        DaemonProcess first = start(env);
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < 24; i++) {
            ids.add("j-" + i);
            HttpResponse<String> accepted = first.post("/tasks", journalTask("j-" + i, journal, 500));
            assertEquals(202, accepted.statusCode(), accepted.body());
        }
        JsonNode store = first.status().get("store");
        assertEquals("sqlite", store.get("kind").asText(), store.toString());
        assertTrue(store.get("location").asText().endsWith("tasks.db"), store.toString());

        // Kill it while tasks run, some done and most still queued: SIGKILL, to the pid in its pid file.
        await("a few tasks done and others running").atMost(Duration.ofSeconds(60))
                .pollInterval(Duration.ofMillis(20)).until(() -> {
                    Journal now = Journal.read(journal);
                    return now.totalEnds() >= 4 && now.anyRunning();
                });
        long pid = Long.parseLong(Files.readString(pidFile).trim());
        assertEquals(first.process.pid(), pid);
        leaks.recordNow();
        ProcessHandle.of(pid).orElseThrow().destroyForcibly();
        assertTrue(first.process.waitFor(30, TimeUnit.SECONDS));
        int endedBeforeTheKill = Journal.read(journal).totalEnds();
        assertTrue(endedBeforeTheKill < ids.size(), "the kill came before the end: " + endedBeforeTheKill);

        // The same settings again (the pid file now names a dead process): the rest runs.
        DaemonProcess second = start(env);
        Map<String, JsonNode> ended = new HashMap<>();
        await("every task to end").atMost(Duration.ofSeconds(120)).pollInterval(Duration.ofMillis(200))
                .until(() -> {
                    for (String id : ids) {
                        JsonNode task = second.task(id); // 200: the store knows tasks the first daemon took
                        if (!task.get("state").asText().equals("QUEUED") && !task.get("state").asText()
                                .equals("RUNNING") && !task.get("state").asText().equals("RETRY_WAIT")) {
                            ended.put(id, task);
                        }
                    }
                    return ended.size() == ids.size();
                });

        Journal runs = Journal.read(journal);
        int hostLost = 0;
        Set<String> hosts = new HashSet<>();
        for (String id : ids) {
            JsonNode task = ended.get(id);
            assertEquals("SUCCEEDED", task.get("state").asText(), task.toString());
            assertEquals(id, task.get("result").get("id").asText(), task.toString());
            int attempts = task.get("attempts").asInt();
            JsonNode failed = task.get("failedAttempts");
            assertEquals(attempts - 1, failed.size(), task.toString());
            for (JsonNode attempt : failed) {
                assertEquals("HOST_LOST", attempt.get("reason").asText(), task.toString());
                hostLost++;
            }
            // at least once, and again only where the kill cut an attempt short
            assertTrue(runs.starts(id) >= 1 && runs.ends(id) >= 1, id + " ran: " + task);
            assertTrue(runs.starts(id) <= attempts, id + " started " + runs.starts(id) + " times in "
                    + attempts + " attempts: " + task);
            hosts.add(task.get("host").asText());
        }
        assertTrue(hostLost >= 1, "the attempts running at the kill end HOST_LOST");
        assertEquals(2, hosts.size(), "tasks ran on both daemons (store identities): " + hosts);
        JsonNode after = second.status().get("store");
        assertTrue(after.get("rescuedAttempts").asInt() >= 1, after.toString());
        await("the store's queue (read every few seconds) to be seen empty").atMost(Duration.ofSeconds(20))
                .pollInterval(Duration.ofMillis(200))
                .until(() -> second.status().get("store").get("queued").asInt() == 0);

        // Sending a task again is idempotent: the same task, ended, not run a second time.
        HttpResponse<String> again = second.post("/tasks?wait=true", journalTask("j-0", journal, 500));
        assertEquals(200, again.statusCode(), again.body());
        assertEquals("SUCCEEDED", second.json(again).get("state").asText(), again.body());
        assertEquals(runs.starts("j-0"), Journal.read(journal).starts("j-0"), "j-0 did not run again");

        second.stop();
        assertFalse(Files.exists(pidFile), "the pid file is removed");
    }

    @Test
    void twoDaemonsOnOnePostgresShareTheQueueAndSeeEachOthersTasks(@TempDir Path temp) throws Exception {
        Path journal = temp.resolve("journal.txt");
        try (EmbeddedPostgresServer pg = EmbeddedPostgresServer.start()) {
            pg.processes().forEach(leaks::record);
            DaemonProcess a = start(env("shared", pg.url(), temp.resolve("a.pid"), "POOL_SIZE", "1"));
            DaemonProcess b = start(env("shared", pg.url(), temp.resolve("b.pid"), "POOL_SIZE", "1"));
            List<String> ids = new ArrayList<>();
            for (int i = 0; i < 16; i++) { // all submitted to the first daemon
                ids.add("s-" + i);
                assertEquals(202, a.post("/tasks", journalTask("s-" + i, journal, 300)).statusCode());
            }
            await("every task to succeed, seen from the daemon that did not submit them")
                    .atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(200))
                    .until(() -> ids.stream().allMatch(id -> b.task(id).get("state").asText().equals("SUCCEEDED")));
            Set<String> hosts = new HashSet<>();
            for (String id : ids) {
                hosts.add(b.task(id).get("host").asText());
            }
            assertEquals(2, hosts.size(), "both daemons ran tasks of the one queue: " + hosts);
            Set<Long> workers = new HashSet<>();
            for (DaemonProcess daemon : List.of(a, b)) {
                daemon.status().get("workers").forEach(w -> workers.add(w.get("pid").asLong()));
            }
            assertEquals(workers, Journal.read(journal).pids(), "the tasks ran in both daemons' workers");
            JsonNode store = b.status().get("store");
            assertEquals("postgresql", store.get("kind").asText(), store.toString());
            assertEquals(2, store.get("hosts").asInt(), store.toString());
            assertFalse(store.toString().contains("password"), store.toString());

            // A task submitted to one daemon is cancelled through the other, wherever it runs.
            assertEquals(202, a.post("/tasks", journalTask("long", journal, 60_000)).statusCode());
            await("the long task to run").atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(50))
                    .until(() -> Journal.read(journal).starts("long") == 1);
            HttpResponse<String> cancel = b.delete("/tasks/long");
            assertEquals(200, cancel.statusCode(), cancel.body());
            await("the cancel to reach the daemon that runs it").atMost(Duration.ofSeconds(30))
                    .pollInterval(Duration.ofMillis(100))
                    .until(() -> a.task("long").get("state").asText().equals("CANCELLED"));
            await("the worker to stop the task").atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(100))
                    .until(() -> Journal.read(journal).ends("long") == 1);

            a.stop();
            b.stop();
            pg.processes().forEach(leaks::record);
        }
    }

    @Test
    void aBadPoolStoreStopsTheStartNamingTheValueAndWhatIsAllowed(@TempDir Path temp) throws Exception {
        Path pidFile = temp.resolve("daemon.pid");
        assertRefused(Map.of("POOL_STORE", "mysql://db/tasks", "POOL_PID_FILE", pidFile.toString()), 2,
                "POOL_STORE must be a SQLite file (sqlite:PATH, or a path ending in .db) or a PostgreSQL JDBC URL",
                "was \"mysql://db/tasks\"");
        assertRefused(Map.of("POOL_STORE", "jdbc:postgresql://localhost/tasks?user=app&password=secret"), 2,
                "POOL_STORE must not carry a password", "POOL_STORE_PASSWORD_FILE");
        Path folder = Files.createDirectories(temp.resolve("folder.db"));
        assertRefused(Map.of("POOL_STORE", folder.toString()), 2, "not a directory");
        Path loose = temp.resolve("password");
        Files.writeString(loose, "secret\n");
        Files.setPosixFilePermissions(loose, PosixFilePermissions.fromString("rw-r--r--"));
        assertRefused(Map.of("POOL_STORE", "jdbc:postgresql://localhost/tasks", "POOL_STORE_PASSWORD_FILE",
                loose.toString()), 2, "POOL_STORE_PASSWORD_FILE must be", "chmod 600", "rw-r--r--");
        assertRefused(Map.of("POOL_STORE_USER", "app"), 2, "POOL_STORE_USER applies to a PostgreSQL store only");
        assertRefused(Map.of("POOL_STORE", "tasks.db", "POOL_HEARTBEAT_MS", "20000"), 2,
                "POOL_STORE_LEASE_TIMEOUT_MS must be at least three heartbeat intervals");

        // Well formed but cannot be opened: the pool does not start, and says why.
        Path file = Files.writeString(temp.resolve("a-file"), "not a folder");
        assertRefused(Map.of("POOL_STORE", "sqlite:" + file.resolve("tasks.db")), 2, "is a file");
        assertRefused(Map.of("POOL_STORE", "jdbc:postgresql://127.0.0.1:1/tasks?connectTimeout=2",
                "POOL_SIZE", "1", "POOL_JVM_OPTIONS", JVM_OPTIONS), 1, "the worker pool did not start", "task store");
        assertFalse(Files.exists(pidFile));
    }

    private void assertRefused(Map<String, String> env, int status, String... expected) throws Exception {
        Path out = Files.createTempFile("procpoold-refused", ".txt");
        Process process = DaemonProcess.command(env).redirectOutput(out.toFile()).start();
        boolean exited = process.waitFor(90, TimeUnit.SECONDS);
        if (!exited) {
            process.destroyForcibly(); // it started after all: that is the failure
        }
        String printed = Files.readString(out, StandardCharsets.UTF_8);
        Files.delete(out);
        assertTrue(exited, "the daemon should have refused to start with " + env + ":\n" + printed);
        assertEquals(status, process.exitValue(), printed);
        for (String text : expected) {
            assertTrue(printed.contains(text), "expected \"" + text + "\" in:\n" + printed);
        }
        assertFalse(printed.contains("secret"), "the password is never printed:\n" + printed);
        assertFalse(printed.contains("\tat "), "no stack trace:\n" + printed);
    }
}
