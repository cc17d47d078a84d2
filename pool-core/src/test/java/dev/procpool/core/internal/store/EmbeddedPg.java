package dev.procpool.core.internal.store;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;

import javax.sql.DataSource;
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

import static org.awaitility.Awaitility.await;

/**
 * A real PostgreSQL server from a Maven artifact, on a fixed data directory and port so that a test can stop it
 * and start it again under its clients (a database restart). Commits are synchronous and synced to disk, as in
 * production (the artifact's defaults turn both off).
 */
public final class EmbeddedPg implements AutoCloseable {
    private final Path dataDirectory;
    private final int port;
    private final List<ProcessTrees.Proc> everyProcess = new ArrayList<>();
    private EmbeddedPostgres server;
    private DataSource dataSource;

    private EmbeddedPg(Path dataDirectory, int port) {
        this.dataDirectory = dataDirectory;
        this.port = port;
    }

    public static EmbeddedPg start() {
        try {
            int port;
            try (ServerSocket socket = new ServerSocket(0)) {
                port = socket.getLocalPort();
            }
            EmbeddedPg pg = new EmbeddedPg(Files.createTempDirectory("procpool-pg"), port);
            pg.startServer();
            return pg;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
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

    /** Starts it again on the same data and port. */
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
