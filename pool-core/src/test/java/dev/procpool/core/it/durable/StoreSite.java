package dev.procpool.core.it.durable;

import dev.procpool.TaskStore;
import dev.procpool.core.internal.store.EmbeddedPg;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Where one test's store lives: a SQLite file of its own, or its own tables (a fresh prefix) in a PostgreSQL
 * server. The same store is reached by host processes (their {@code store=} argument), by pools in the test JVM,
 * and by {@link StoreTables} for the test's own reading.
 */
abstract class StoreSite {
    private static final AtomicInteger TESTS = new AtomicInteger();
    final String prefix = "j" + TESTS.incrementAndGet() + "_" + Long.toString(System.nanoTime() % 1_000_000, 36)
            + "_";

    /** A SQLite file in {@code dir}. */
    static StoreSite sqlite(Path dir) {
        Path file = dir.resolve("store").resolve("tasks.db");
        return new StoreSite() {
            @Override
            String location() {
                return "sqlite:" + file;
            }

            @Override
            TaskStore.Durable durable() {
                return TaskStore.sqlite(file).withTablePrefix(prefix);
            }

            @Override
            Connection connect() throws SQLException {
                Connection connection = DriverManager.getConnection("jdbc:sqlite:" + file);
                try (Statement s = connection.createStatement()) {
                    s.execute("PRAGMA busy_timeout = 10000");
                }
                return connection;
            }
        };
    }

    /** Fresh tables in this server. */
    static StoreSite postgres(EmbeddedPg pg) {
        String url;
        try (Connection c = pg.dataSource().getConnection()) {
            url = c.getMetaData().getURL() + "?user=postgres";
        } catch (SQLException e) {
            throw new IllegalStateException(e);
        }
        return new StoreSite() {
            @Override
            String location() {
                return "postgres:" + url;
            }

            @Override
            TaskStore.Durable durable() {
                return TaskStore.postgres(pg.dataSource()).withTablePrefix(prefix);
            }

            @Override
            Connection connect() throws SQLException {
                return pg.dataSource().getConnection();
            }
        };
    }

    /** The {@code store=} argument of a host process. */
    abstract String location();

    /** The store for a pool in the test JVM. */
    abstract TaskStore.Durable durable();

    /** A connection for the test's own reading. */
    abstract Connection connect() throws SQLException;

    /** The store's tables for a pool, read with SQL. */
    StoreTables tables(String pool) {
        return new StoreTables(this::connect, prefix, pool);
    }

    /** The arguments of a host process on this store: the pool, its lease in ms, workers, then any extra ones. */
    String[] hostArgs(String pool, long leaseMillis, int workers, String... extra) {
        List<String> args = new ArrayList<>(List.of("store=" + location(), "prefix=" + prefix, "pool=" + pool,
                "lease=" + leaseMillis, "workers=" + workers));
        args.addAll(List.of(extra));
        return args.toArray(String[]::new);
    }
}
