package dev.procpool.core.internal.store;

import dev.procpool.Ticker;

import javax.sql.DataSource;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.time.Clock;
import java.util.Objects;
import java.util.concurrent.ThreadFactory;

/**
 * Builds the durable stores: {@link #sqlite(Path)} for one machine, {@link #postgres(DataSource)} for several hosts.
 * The JDBC drivers are the user's dependencies: {@code org.xerial:sqlite-jdbc} and {@code org.postgresql:postgresql}.
 */
public final class TaskStores {
    private TaskStores() {
    }

    /**
     * A SQLite store in this file, created (with its missing parent directories, mode 0700, and the file, mode
     * 0600) if absent. The file must be on a local disk: WAL mode needs shared memory between the processes.
     */
    public static Builder sqlite(Path file) {
        Objects.requireNonNull(file, "file");
        return new Builder(file, null);
    }

    /** A PostgreSQL store on the user's {@code DataSource} (a pool such as HikariCP, or a plain one). */
    public static Builder postgres(DataSource dataSource) {
        return new Builder(null, Objects.requireNonNull(dataSource, "dataSource"));
    }

    /** The store's remaining choices. Not thread-safe. */
    public static final class Builder {
        private static final java.util.regex.Pattern POOL_NAME =
                java.util.regex.Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,63}");
        private final Path file;
        private final DataSource dataSource;
        private String pool = "procpool";
        private StoreSettings settings = StoreSettings.defaults();
        private HostIdentity host;
        private Clock clock = Clock.systemUTC();
        private Ticker ticker = Ticker.system();
        private ThreadFactory threads;

        private Builder(Path file, DataSource dataSource) {
            this.file = file;
            this.dataSource = dataSource;
        }

        /**
         * The pool whose tasks the store holds; hosts with the same pool name share its queue. 1 to 64 letters,
         * digits, '.', '_' or '-' starting with a letter or digit, as a pool's name.
         */
        public Builder pool(String pool) {
            Objects.requireNonNull(pool, "pool");
            if (!POOL_NAME.matcher(pool).matches()) {
                throw new IllegalArgumentException("pool must be 1 to 64 letters, digits, '.', '_' or '-' starting "
                        + "with a letter or digit, was \"" + pool + "\"");
            }
            this.pool = pool;
            return this;
        }

        public Builder settings(StoreSettings settings) {
            this.settings = Objects.requireNonNull(settings, "settings");
            return this;
        }

        /** This host's identity (default {@link HostIdentity#current()}). */
        public Builder host(HostIdentity host) {
            this.host = Objects.requireNonNull(host, "host");
            return this;
        }

        /** The wall clock of the store's own timestamps (host registration, close). */
        public Builder clock(Clock clock) {
            this.clock = Objects.requireNonNull(clock, "clock");
            return this;
        }

        /** The monotonic time of reconnect backoff. */
        public Builder ticker(Ticker ticker) {
            this.ticker = Objects.requireNonNull(ticker, "ticker");
            return this;
        }

        /** Where the store's threads come from (the pool's own factory); their names end in "store-…". */
        public Builder threads(ThreadFactory threads) {
            this.threads = Objects.requireNonNull(threads, "threads");
            return this;
        }

        /** The store, not yet open. */
        public JdbcTaskStore build() {
            Tables tables = Tables.of(settings);
            ThreadFactory factory = threads != null ? threads : runnable -> new Thread(runnable, "procpool-" + pool
                    + "-");
            HostIdentity identity = host != null ? host : HostIdentity.current();
            if (dataSource != null) {
                return new JdbcTaskStore(new PostgresDialect(tables, settings), dataSource::getConnection, pool,
                        identity, clock, ticker, factory);
            }
            if (settings.schema().isPresent()) {
                throw new IllegalStateException("schema is a PostgreSQL setting; a SQLite store has none (use "
                        + "tablePrefix), was \"" + settings.schema().get() + "\"");
            }
            String url = "jdbc:sqlite:" + prepareFile(file);
            try {
                DriverManager.getDriver(url);
            } catch (SQLException e) {
                throw new IllegalStateException("no SQLite JDBC driver on the class path: add org.xerial:sqlite-jdbc",
                        e);
            }
            return new JdbcTaskStore(new SqliteDialect(tables, settings), () -> DriverManager.getConnection(url),
                    pool, identity, clock, ticker, factory);
        }

        private static Path prepareFile(Path file) {
            Path absolute = file.toAbsolutePath();
            if (Files.isDirectory(absolute)) {
                throw new IllegalArgumentException("the SQLite store must be a file, not a directory: " + absolute);
            }
            try {
                Path parent = absolute.getParent();
                if (parent != null && !Files.isDirectory(parent)) {
                    Files.createDirectories(parent, PosixFilePermissions.asFileAttribute(
                            PosixFilePermissions.fromString("rwx------")));
                }
                if (!Files.exists(absolute)) {
                    // SQLite gives its -wal and -shm files the database file's mode
                    Files.createFile(absolute, PosixFilePermissions.asFileAttribute(
                            PosixFilePermissions.fromString("rw-------")));
                }
            } catch (UnsupportedOperationException e) {
                // not a POSIX file system: the platform's defaults apply
            } catch (java.nio.file.FileAlreadyExistsException e) {
                // another host process created it first
            } catch (IOException e) {
                throw new IllegalStateException("cannot create the SQLite store " + absolute + ": " + e.getMessage(),
                        e);
            }
            return absolute;
        }
    }
}
