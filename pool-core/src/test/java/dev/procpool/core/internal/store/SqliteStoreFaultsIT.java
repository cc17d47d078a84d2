package dev.procpool.core.internal.store;

import dev.procpool.core.testing.Signals;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Faults of a SQLite store, for real: host processes killed or stopped while holding leases, a full disk (a small
 * tmpfs), and another process holding the file's write lock past the busy timeout.
 */
class SqliteStoreFaultsIT extends StoreTestBase implements HostProcessContract {
    @TempDir
    Path folder;
    Path file;

    @BeforeEach
    void freshFile() throws IOException {
        file = Files.createDirectories(folder.resolve("store")).resolve("tasks.db");
    }

    @Override
    TaskStores.Builder builder(StoreSettings settings) {
        return TaskStores.sqlite(file).settings(settings);
    }

    @Override
    public Connection raw() throws SQLException {
        Connection connection = DriverManager.getConnection("jdbc:sqlite:" + file);
        Dialect.execute(connection, "PRAGMA busy_timeout = 10000");
        return connection;
    }

    @Override
    public List<String> childStore() {
        return List.of("sqlite", file.toString());
    }

    /**
     * SIGSTOP, but never while the host is inside a write: a SQLite writer stopped there would keep the file's
     * lock, and every other process would wait for it (the known limit of a shared file; see the store's notes).
     */
    @Override
    public void stop(Child child) throws Exception {
        for (int tries = 0; tries < 100; tries++) {
            Signals.send("STOP", child.process.pid());
            try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + file)) {
                Dialect.execute(c, "PRAGMA busy_timeout = 0");
                Dialect.execute(c, "BEGIN IMMEDIATE");
                Dialect.execute(c, "ROLLBACK");
                return;
            } catch (SQLException busy) {
                Signals.send("CONT", child.process.pid());
                Thread.sleep(20);
            }
        }
        throw new AssertionError("the host process held the write lock at every try");
    }

    @Test
    void aFullDiskFailsAWriteAsUnavailableWithNothingHalfWrittenAndTheStoreRecovers() throws Exception {
        Path disk = Files.createDirectories(folder.resolve("disk"));
        assumeTrue(run("mount", "-t", "tmpfs", "-o", "size=1m,mode=0700", "tmpfs", disk.toString()),
                "mounting a small tmpfs needs root");
        try {
            file = disk.resolve("tasks.db");
            JdbcTaskStore store = open("a");
            store.insert(List.of(Tasks.task("before")));
            Path filler = disk.resolve("filler");
            try (OutputStream out = Files.newOutputStream(filler)) {
                byte[] block = new byte[4096];
                while (true) {
                    out.write(block);
                    out.flush();
                }
            } catch (IOException full) {
                // the disk is full
            }
            List<NewTask> batch = new ArrayList<>();
            for (int i = 0; i < 200; i++) {
                batch.add(new NewTask("full-" + i, "echo", java.util.Set.of(), "\"" + "x".repeat(2000) + "\"", 10, 10,
                        T0, null, dev.procpool.RetryPolicy.defaults(), null, T0));
            }
            StoreUnavailableException failed = assertThrows(StoreUnavailableException.class,
                    () -> store.insert(batch));
            assertTrue(failed.getMessage().contains("SQLite"), failed.getMessage());
            assertEquals(0, number("SELECT COUNT(*) FROM " + table("task") + " WHERE id LIKE 'full-%'"));

            Files.delete(filler);
            await().atMost(Duration.ofSeconds(30)).ignoreExceptionsInstanceOf(StoreUnavailableException.class)
                    .until(() -> store.insert(batch).stream().allMatch(InsertResult::created));
            assertEquals(201, number("SELECT COUNT(*) FROM " + table("task")));
            store.close();
        } finally {
            closeStores();
            assertTrue(run("umount", disk.toString()), "umount " + disk);
        }
    }

    @Test
    void anotherProcessHoldingTheWriteLockPastTheBusyTimeoutIsUnavailableUntilItLetsGo() throws Exception {
        JdbcTaskStore store = open("a", settings().busyTimeout(Duration.ofMillis(300)), StoreEvents.NONE);
        store.insert(List.of(Tasks.task("before")));
        Process holder = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), SqliteLockHolder.class.getName(), file.toString())
                .redirectError(ProcessBuilder.Redirect.DISCARD).start();
        List<ProcessTrees.Proc> tree = ProcessTrees.snapshot(holder.toHandle());
        try {
            assertEquals("LOCKED", new java.io.BufferedReader(new java.io.InputStreamReader(holder.getInputStream()))
                    .readLine());
            long started = System.nanoTime();
            StoreUnavailableException busy = assertThrows(StoreUnavailableException.class,
                    () -> store.insert(List.of(Tasks.task("during"))));
            assertTrue(busy.getMessage().contains("SQLITE_BUSY"), busy.getMessage());
            assertTrue(System.nanoTime() - started < TimeUnit.SECONDS.toNanos(10));
            holder.getOutputStream().close(); // the holder rolls back and exits
            assertTrue(holder.waitFor(30, TimeUnit.SECONDS));
            await().atMost(Duration.ofSeconds(30)).ignoreExceptionsInstanceOf(StoreUnavailableException.class)
                    .until(() -> store.insert(List.of(Tasks.task("during"))).get(0).created());
        } finally {
            holder.destroyForcibly();
            holder.waitFor(30, TimeUnit.SECONDS);
            ProcessTrees.assertAllGone(tree);
        }
    }

    private static boolean run(String... command) throws Exception {
        Process process = new ProcessBuilder(command).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        return process.waitFor(30, TimeUnit.SECONDS) && process.exitValue() == 0;
    }
}
