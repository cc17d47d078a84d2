package dev.procpool.core.internal.store;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;
import javax.sql.DataSource;

import static org.awaitility.Awaitility.await;

/**
 * A real PostgreSQL server from a Maven artifact, on a fixed data directory and port so that a test can stop it
 * and start it again under its clients (a database restart). Commits are synchronous and synced to disk, as in
 * production (the artifact's defaults turn both off).
 *
 * <p>One server for a test class: {@code @RegisterExtension static final EmbeddedPg pg = EmbeddedPg.perTestClass();}
 * starts it before the class's tests and stops it after them.
 */
public final class EmbeddedPg implements AutoCloseable, BeforeAllCallback, AfterAllCallback {
    private final Path dataDirectory;
    private final int port;
    private final List<ProcessTrees.Proc> everyProcess = new ArrayList<>();
    private EmbeddedPostgres server;
    private DataSource dataSource;

    private EmbeddedPg(Path dataDirectory, int port) {
        this.dataDirectory = dataDirectory;
        this.port = port;
    }

    /** Starts a server now; the caller closes it. */
    public static EmbeddedPg start() {
        EmbeddedPg pg = perTestClass();
        pg.restart();
        return pg;
    }

    /** A server that starts before the tests of the class that registers it, and stops after them. */
    public static EmbeddedPg perTestClass() {
        try {
            int port;
            try (ServerSocket socket = new ServerSocket(0)) {
                port = socket.getLocalPort();
            }
            return new EmbeddedPg(Files.createTempDirectory("procpool-pg"), port);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public void beforeAll(ExtensionContext context) {
        restart();
    }

    @Override
    public void afterAll(ExtensionContext context) throws IOException {
        close();
    }

    private void startServer() throws IOException {
        server = EmbeddedPostgres.builder()
                .setDataDirectory(dataDirectory)
                .setCleanDataDirectory(false)
                .setPort(port)
                .setServerConfig("synchronous_commit", "on")
                .setServerConfig("fsync", "on")
                .setServerConfig("log_min_duration_statement", System.getProperty("pg.slow", "-1"))
                .start();
        if (dataSource == null) {
            dataSource = server.getPostgresDatabase();
        }
        everyProcess.addAll(ProcessTrees.snapshot(ProcessHandle.of(postmasterPid()).orElseThrow()));
        // pg_ctl, which started the server, may outlive the start for a moment; while it lives the server is a
        // descendant of this JVM, and a test's check for processes left behind would take it for one of its own
        long postmaster = postmasterPid();
        await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(20))
                .until(() -> ProcessHandle.current().descendants().noneMatch(h -> h.pid() == postmaster));
    }

    /** A plain, non-pooling data source; it keeps working across restarts (same host and port). */
    public DataSource dataSource() {
        return dataSource;
    }

    /** The server's processes now (the postmaster and its children). */
    public List<ProcessTrees.Proc> processes() {
        return ProcessTrees.snapshot(ProcessHandle.of(postmasterPid()).orElseThrow());
    }

    private long postmasterPid() {
        try {
            return Long.parseLong(Files.readAllLines(dataDirectory.resolve("postmaster.pid")).get(0).trim());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Stops the server (fast shutdown: clients are disconnected). */
    public void stop() {
        everyProcess.addAll(processes());
        try {
            server.close();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        server = null;
    }

    /** Starts it (again) on the same data and port. */
    public void restart() {
        try {
            startServer();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Stops the server, checks that none of its processes of any incarnation is left, and deletes its data. */
    @Override
    public void close() throws IOException {
        if (server != null) {
            stop();
        }
        ProcessTrees.assertAllGone(everyProcess);
        try (Stream<Path> files = Files.walk(dataDirectory)) {
            files.sorted(Comparator.reverseOrder()).forEach(path -> path.toFile().delete());
        }
    }
}
