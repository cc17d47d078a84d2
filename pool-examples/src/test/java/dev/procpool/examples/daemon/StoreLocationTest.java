package dev.procpool.examples.daemon;

import dev.procpool.TaskStore;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.postgresql.ds.PGSimpleDataSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** POOL_STORE and its companions: each form read, each mistake refused with the value and what is allowed. */
class StoreLocationTest {
    @TempDir
    Path dir;

    private static StoreLocation parse(String value) {
        return StoreLocation.parse("POOL_STORE", value, null, "POOL_STORE_USER", null, "POOL_STORE_PASSWORD_FILE");
    }

    private static String refusal(String value) {
        return assertThrows(IllegalArgumentException.class, () -> parse(value)).getMessage();
    }

    @Test
    void unsetIsInMemory() {
        assertEquals(StoreLocation.Kind.MEMORY, parse(null).kind());
        assertEquals(StoreLocation.Kind.MEMORY, parse("  ").kind());
        assertInstanceOf(TaskStore.InMemory.class, parse("").taskStore("p", Duration.ofSeconds(30)));
    }

    @Test
    void sqliteFilesByPrefixOrEnding() {
        StoreLocation prefixed = parse("sqlite:" + dir.resolve("state/tasks"));
        assertEquals(StoreLocation.Kind.SQLITE, prefixed.kind());
        assertEquals(dir.resolve("state/tasks"), prefixed.file().orElseThrow());
        StoreLocation relative = parse("var/Tasks.DB");
        assertEquals(Path.of("var/Tasks.DB").toAbsolutePath(), relative.file().orElseThrow());
        TaskStore.Durable store = (TaskStore.Durable) prefixed.taskStore("p", Duration.ofSeconds(12));
        assertEquals(TaskStore.Durable.Kind.SQLITE, store.kind());
        assertEquals(Duration.ofSeconds(12), store.leaseTimeout());
        assertEquals("SQLite " + dir.resolve("state/tasks"), prefixed.toString());
    }

    @Test
    void badValuesAreRefusedNamingTheValueAndTheFormsAllowed() throws Exception {
        for (String bad : new String[] {"mysql://db/tasks", "tasks.sqlite", "jdbc:sqlite:tasks.db", "postgres://h/db"}) {
            String message = refusal(bad);
            assertTrue(message.startsWith("POOL_STORE must be a SQLite file (sqlite:PATH, or a path ending in .db) "
                    + "or a PostgreSQL JDBC URL"), message);
            assertTrue(message.endsWith("was \"" + bad + "\""), message);
        }
        assertTrue(refusal("sqlite:").contains("must name a SQLite file"));
        assertTrue(refusal("sqlite::memory:").contains("would not survive a restart"));
        assertTrue(refusal("jdbc:postgresql://h:port/db").contains("the PostgreSQL driver cannot read this URL"));
        Files.createDirectories(dir.resolve("folder.db"));
        assertTrue(refusal(dir.resolve("folder.db").toString()).contains("not a directory"));
        Files.writeString(dir.resolve("plain"), "x");
        assertTrue(refusal("sqlite:" + dir.resolve("plain/tasks.db")).contains(dir.resolve("plain") + " is a file"));
    }

    @Test
    void aPasswordIsNeverInTheUrlButInAPrivateFile() throws Exception {
        String inUrl = refusal("jdbc:postgresql://h/db?user=app&password=hunter2");
        assertTrue(inUrl.contains("must not carry a password") && inUrl.contains("POOL_STORE_PASSWORD_FILE"), inUrl);
        assertFalse(inUrl.contains("hunter2"), inUrl);

        Path file = dir.resolve("pw");
        Files.writeString(file, "hunter2\nignored\n");
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-------"));
        StoreLocation location = StoreLocation.parse("POOL_STORE", "jdbc:postgresql://h:5433/db", "app",
                "POOL_STORE_USER", file.toString(), "POOL_STORE_PASSWORD_FILE");
        assertEquals(StoreLocation.Kind.POSTGRESQL, location.kind());
        assertFalse(location.toString().contains("hunter2"), location.toString());
        assertTrue(location.toString().contains("as app") && location.toString().contains(file.toString()));
        TaskStore.Durable store = (TaskStore.Durable) location.taskStore("orders", Duration.ofSeconds(30));
        PGSimpleDataSource dataSource = (PGSimpleDataSource) store.dataSource().orElseThrow();
        assertEquals("app", dataSource.getUser());
        assertEquals("hunter2", dataSource.getPassword());
        assertEquals("procpool orders", dataSource.getApplicationName());
        assertEquals(5433, dataSource.getPortNumbers()[0]);

        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-r-----"));
        String shared = assertThrows(IllegalArgumentException.class, () -> StoreLocation.parse("POOL_STORE",
                "jdbc:postgresql://h/db", null, "POOL_STORE_USER", file.toString(), "POOL_STORE_PASSWORD_FILE"))
                .getMessage();
        assertTrue(shared.contains("chmod 600") && shared.contains("rw-r-----"), shared);
        Files.writeString(file, "\n");
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-------"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> StoreLocation.parse("POOL_STORE",
                "jdbc:postgresql://h/db", null, "POOL_STORE_USER", file.toString(), "POOL_STORE_PASSWORD_FILE"))
                .getMessage().contains("first line is empty"));
    }

    @Test
    void theUserIsGivenOnceAndOnlyForPostgres() {
        assertTrue(assertThrows(IllegalArgumentException.class, () -> StoreLocation.parse("POOL_STORE",
                "jdbc:postgresql://h/db?user=a", "b", "POOL_STORE_USER", null, "POOL_STORE_PASSWORD_FILE"))
                .getMessage().contains("cannot both be set"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> StoreLocation.parse("POOL_STORE",
                "tasks.db", "b", "POOL_STORE_USER", null, "POOL_STORE_PASSWORD_FILE"))
                .getMessage().startsWith("POOL_STORE_USER applies to a PostgreSQL store only"));
    }

    @Test
    void theDaemonChecksTheLeaseAgainstTheHeartbeat() {
        DaemonSettings settings = DaemonSettings.fromEnvironment(Map.of("POOL_STORE", "sqlite:" + dir.resolve("t"),
                "POOL_STORE_LEASE_TIMEOUT_MS", "4000", "POOL_HEARTBEAT_MS", "1000"));
        assertEquals(Duration.ofSeconds(4), settings.leaseTimeout());
        assertTrue(settings.store().isDurable());

        DaemonSettings.InvalidSettingsException tooShort = assertThrows(DaemonSettings.InvalidSettingsException.class,
                () -> DaemonSettings.fromEnvironment(Map.of("POOL_STORE", "x.db", "POOL_STORE_LEASE_TIMEOUT_MS",
                        "2000", "POOL_HEARTBEAT_MS", "1000")));
        assertEquals("POOL_STORE_LEASE_TIMEOUT_MS must be at least three heartbeat intervals (POOL_HEARTBEAT_MS "
                + "1000, so at least 3000), was 2000", tooShort.getMessage());
        DaemonSettings.InvalidSettingsException inMemory = assertThrows(
                DaemonSettings.InvalidSettingsException.class,
                () -> DaemonSettings.fromEnvironment(Map.of("POOL_STORE_LEASE_TIMEOUT_MS", "5000")));
        assertTrue(inMemory.getMessage().contains("applies to a durable store only"), inMemory.getMessage());
        // a bad store is one problem, not two
        DaemonSettings.InvalidSettingsException bad = assertThrows(DaemonSettings.InvalidSettingsException.class,
                () -> DaemonSettings.fromEnvironment(Map.of("POOL_STORE", "nope", "POOL_STORE_LEASE_TIMEOUT_MS",
                        "5000")));
        assertEquals(1, bad.problems().size(), bad.getMessage());
    }
}
