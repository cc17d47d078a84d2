package dev.procpool.core.it.durable;

import dev.procpool.core.testing.ProcessLeakCheck;
import dev.procpool.core.testing.TestPools;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * A SQLite store that cannot write, for real, under a host JVM running tasks: a full file system (a 16 MiB tmpfs,
 * where the machine lets the test mount one: root) and a file-size limit on the host process (RLIMIT_FSIZE set with
 * {@code prlimit}, no root needed; writes then fail with EFBIG instead of ENOSPC). Either way the host goes DEGRADED,
 * refuses new tasks with {@code STORE_UNAVAILABLE}, keeps running what it runs, and recovers by itself once it can
 * write again, with every task ended exactly once.
 */
class SqliteFullDiskIT {
    private final ProcessLeakCheck leaks = ProcessLeakCheck.start();
    @TempDir
    Path dir;

    @AfterEach
    void nothingLeftBehind() {
        leaks.assertNoneLeft(Duration.ofSeconds(30));
    }

    /**
     * The file system is 16 MiB: SQLite checkpoints its WAL only once it holds 1000 pages (4 MiB), so on a smaller one
     * the WAL of a busy store fills what was freed again by itself.
     */
    @Test
    void aFullFileSystemRefusesNewTasksUntilSpaceReturns() throws Exception {
        Path disk = Files.createDirectories(dir.resolve("disk"));
        assumeTrue(run("mount", "-t", "tmpfs", "-o", "size=16m,mode=0700", "tmpfs", disk.toString()),
                "mounting a small tmpfs needs root");
        Path filler = disk.resolve("filler");
        try {
            cannotWriteThenCanAgain(disk, host -> {
                try (OutputStream out = Files.newOutputStream(filler)) {
                    byte[] block = new byte[4096];
                    while (true) {
                        out.write(block);
                    }
                } catch (IOException full) {
                    assertTrue(String.valueOf(full.getMessage()).contains("No space left"), full.toString());
                }
            }, host -> Files.delete(filler));
        } finally {
            assertTrue(run("umount", disk.toString()), "umount " + disk);
        }
    }

    @Test
    void aFileSizeLimitOnTheHostRefusesNewTasksUntilItIsLifted() throws Exception {
        assumeTrue(TestPools.onPath("prlimit"), "prlimit (util-linux) sets another process's limits");
        // every write of the host at an offset past 0 fails (EFBIG): the store's and its log's (a file) alike; the
        // host survives the SIGXFSZ that comes with it (the JVM ignores that signal)
        cannotWriteThenCanAgain(Files.createDirectories(dir.resolve("store")),
                host -> assertTrue(run("prlimit", "--pid", Long.toString(host.pid()), "--fsize=0:"), "prlimit"),
                host -> assertTrue(run("prlimit", "--pid", Long.toString(host.pid()), "--fsize=unlimited:"),
                        "prlimit"));
    }

    /** What a host step does to the host's disk. */
    @FunctionalInterface
    interface DiskStep {
        void apply(HostProcess host) throws Exception;
    }

    private void cannotWriteThenCanAgain(Path storeDir, DiskStep breakWrites, DiskStep repair) throws Exception {
        StoreSite site = StoreSite.sqlite(storeDir);
        StoreTables tables = site.tables("disk");
        Path gate = dir.resolve("gate");
        try (HostProcess host = HostProcess.start("host", dir, site.hostArgs("disk", 10_000, 2))) {
            host.expect("READY", Duration.ofMinutes(2));
            host.send("SUBMIT g 0 2 0 gate=" + gate); // two tasks hold both workers until the gate opens
            host.expect("SUBMITTED", Duration.ofMinutes(1));
            host.send("SUBMIT q 0 50 2"); // 50 more wait in the store behind them
            host.expect("SUBMITTED", Duration.ofMinutes(1));
            String hostName = tables.hostNames().get(host.pid());
            await().atMost(Duration.ofMinutes(1)).until(() -> tables.runningByOwner()
                    .getOrDefault(hostName, Set.of()).equals(Set.of("g-0", "g-1")));

            breakWrites.apply(host);
            AtomicReference<Map<String, String>> snapshot = new AtomicReference<>();
            await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(200)).until(() -> {
                host.send("SNAPSHOT");
                snapshot.set(host.expect("SNAPSHOT", Duration.ofSeconds(10)));
                return snapshot.get().get("health").equals("DEGRADED");
            });
            assertEquals("false", snapshot.get().get("available"), snapshot.get().get("line"));
            host.send("TRY refused 65536");
            Map<String, String> refused = host.expect("REJECTED", Duration.ofSeconds(30));
            assertEquals("STORE_UNAVAILABLE", refused.get("0"), refused.get("line"));
            assertTrue(refused.get("line").contains("task refused (work) was not stored"), refused.get("line"));

            // the running tasks go on while nothing can be written; their ends are recorded later
            long served = Long.parseLong(snapshot.get().get("served"));
            Files.writeString(gate, "open");
            await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(200)).until(() -> {
                host.send("SNAPSHOT");
                return Long.parseLong(host.expect("SNAPSHOT", Duration.ofSeconds(10)).get("served")) >= served + 2;
            });

            repair.apply(host);
            await().atMost(Duration.ofMinutes(1)).pollInterval(Duration.ofMillis(200)).until(() -> {
                host.send("SNAPSHOT");
                snapshot.set(host.expect("SNAPSHOT", Duration.ofSeconds(10)));
                return snapshot.get().get("health").equals("HEALTHY");
            });
            assertEquals("true", snapshot.get().get("available"), snapshot.get().get("line"));
            host.send("TRY accepted 65536");
            host.expect("ACCEPTED", Duration.ofSeconds(30));
            Set<String> lines = new HashSet<>();
            for (int submit = 0; submit < 2; submit++) { // each SUBMIT's handles: every one got its own result
                Map<String, String> got = host.expect("RESULTS", Duration.ofMinutes(1));
                lines.add(got.get("line"));
            }
            assertEquals(Set.of("RESULTS ok=2 wrong=0 failed=0", "RESULTS ok=50 wrong=0 failed=0"), lines);
            await().atMost(Duration.ofSeconds(30)).until(() -> tables.ended() == 53);
        }
        assertEquals(53, tables.number("COUNT(*)", "ended", "AND state = 'SUCCEEDED' AND attempt = 1"));
        assertEquals(0, tables.number("COUNT(*)", "ended", "AND id = 'refused'"), "the refused task was not stored");
        assertEquals(0, tables.live());
        assertTrue(tables.failedAttempts().isEmpty());
    }

    private static boolean run(String... command) throws Exception {
        Process process = new ProcessBuilder(command).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        return process.waitFor(30, TimeUnit.SECONDS) && process.exitValue() == 0;
    }
}
