package dev.procpool;

import javax.sql.DataSource;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * Where a pool keeps its tasks: in memory (the default: fastest, gone with the host), in one SQLite file on local disk
 * (tasks survive a crash of the host; several host processes on one machine may share the file), or in PostgreSQL
 * (tasks survive, and hosts with the same pool name on the same database share one queue). Set it with
 * {@code WorkerPool.builder().taskStore(...)}. Immutable; the {@code with…} methods return copies, each checking its
 * argument.
 *
 * <p>With a durable store, {@code submitTask} returns once the task is in the database (concurrent submits share a
 * transaction), a task with an id is submitted once however often it is sent, execution is at least once and the
 * outcome exactly once, and attempts cut short by a lost host end with {@link FailureReason#HOST_LOST} and are retried
 * under the task's retry policy. The README's "Durable tasks" section is the contract.
 *
 * <p>The JDBC drivers are dependencies the application adds: {@code org.xerial:sqlite-jdbc} for SQLite,
 * {@code org.postgresql:postgresql} for PostgreSQL.
 */
public sealed interface TaskStore permits TaskStore.InMemory, TaskStore.Durable {

    /** {@return the default: tasks in the host's memory only} */
    static TaskStore inMemory() {
        return InMemory.INSTANCE;
    }

    /**
     * Tasks in a SQLite file (WAL mode), created with its missing parent directories (mode 0700) if absent. The file
     * must be on a local disk: several processes share it through shared memory.
     *
     * @param file the database file
     * @return a store with the default settings; change them with the {@code with…} methods
     */
    static Durable sqlite(Path file) {
        return new Durable(Durable.Kind.SQLITE, Objects.requireNonNull(file, "file"), null);
    }

    /**
     * Tasks in PostgreSQL, through the application's data source (a connection pool such as HikariCP, or a plain
     * one: the store keeps a few long-lived connections of its own either way). The user needs to create tables in its
     * schema (the pool creates and migrates them itself).
     *
     * @param dataSource where connections come from
     * @return a store with the default settings; change them with the {@code with…} methods
     */
    static Durable postgres(DataSource dataSource) {
        return new Durable(Durable.Kind.POSTGRESQL, null, Objects.requireNonNull(dataSource, "dataSource"));
    }

    /** Tasks in the host's memory: the default. */
    final class InMemory implements TaskStore {
        static final InMemory INSTANCE = new InMemory();

        private InMemory() {
        }

        @Override
        public String toString() {
            return "in memory";
        }
    }

    /** A store in a database: SQLite or PostgreSQL. */
    final class Durable implements TaskStore {
        private static final Pattern PREFIX = Pattern.compile("[a-z][a-z0-9_]{0,29}");
        private static final Pattern SCHEMA = Pattern.compile("[a-z_][a-z0-9_]{0,62}");

        /** Which database. */
        public enum Kind {
            /** One file on local disk. */
            SQLITE,
            /** A PostgreSQL server. */
            POSTGRESQL
        }

        /** How SQLite syncs a commit to disk. */
        public enum SqliteSync {
            /** Every commit is on disk before it returns (survives a power loss). */
            FULL,
            /** Survives the host process's crash, not a power loss; several times faster. */
            NORMAL
        }

        private final Kind kind;
        private final Path file;
        private final DataSource dataSource;
        private String tablePrefix = "procpool_";
        private String schema;
        private Duration leaseTimeout = Duration.ofSeconds(30);
        private Duration retention = Duration.ofDays(7);
        private Duration deadLetterRetention = Duration.ofDays(30);
        private Duration pollInterval = Duration.ofMillis(250);
        private Duration busyTimeout = Duration.ofSeconds(5);
        private Duration networkTimeout = Duration.ofSeconds(30);
        private int maxBatchTasks = 2000;
        private SqliteSync sqliteSync = SqliteSync.FULL;

        private Durable(Kind kind, Path file, DataSource dataSource) {
            this.kind = kind;
            this.file = file;
            this.dataSource = dataSource;
        }

        private Durable copy() {
            Durable copy = new Durable(kind, file, dataSource);
            copy.tablePrefix = tablePrefix;
            copy.schema = schema;
            copy.leaseTimeout = leaseTimeout;
            copy.retention = retention;
            copy.deadLetterRetention = deadLetterRetention;
            copy.pollInterval = pollInterval;
            copy.busyTimeout = busyTimeout;
            copy.networkTimeout = networkTimeout;
            copy.maxBatchTasks = maxBatchTasks;
            copy.sqliteSync = sqliteSync;
            return copy;
        }

        /**
         * The prefix of the store's table names (default {@code procpool_}), so that several stores or other
         * applications can share a database.
         *
         * @param prefix 1 to 30 characters: a lower-case letter, then lower-case letters, digits or '_'
         * @return a copy with that prefix
         */
        public Durable withTablePrefix(String prefix) {
            Objects.requireNonNull(prefix, "tablePrefix");
            if (!PREFIX.matcher(prefix).matches()) {
                throw new IllegalArgumentException("tablePrefix must be 1 to 30 characters: a lower-case letter, then "
                        + "lower-case letters, digits or '_', was \"" + prefix + "\"");
            }
            Durable copy = copy();
            copy.tablePrefix = prefix;
            return copy;
        }

        /**
         * The PostgreSQL schema of the store's tables (default: the connection's search path).
         *
         * @param schema 1 to 63 lower-case letters, digits or '_', not starting with a digit
         * @return a copy with that schema
         */
        public Durable withSchema(String schema) {
            Objects.requireNonNull(schema, "schema");
            if (!SCHEMA.matcher(schema).matches()) {
                throw new IllegalArgumentException("schema must be 1 to 63 lower-case letters, digits or '_', not "
                        + "starting with a digit, was \"" + schema + "\"");
            }
            if (kind != Kind.POSTGRESQL) {
                throw new IllegalArgumentException("schema is a PostgreSQL setting; this store is " + this);
            }
            Durable copy = copy();
            copy.schema = schema;
            return copy;
        }

        /**
         * How long a host's claim on a running attempt lasts without renewal (default 30 s). A host renews its
         * claims every heartbeat interval; a host silent for this long (killed, cut off, paused) loses them, and
         * another host runs the tasks again ({@link FailureReason#HOST_LOST}). Size it well above the heartbeat
         * interval and the longest pause a host may take (a full GC): the pool requires at least three heartbeat
         * intervals.
         *
         * @param timeout 100 ms to 1 hour
         * @return a copy with that timeout
         */
        public Durable withLeaseTimeout(Duration timeout) {
            Durable copy = copy();
            copy.leaseTimeout = between("leaseTimeout", timeout, Duration.ofMillis(100), Duration.ofHours(1));
            return copy;
        }

        /**
         * How long ended tasks (results, failures, attempts) stay findable (default 7 days); dead letters have
         * their own retention.
         *
         * @param retention 1 second to 3650 days
         * @return a copy with that retention
         */
        public Durable withRetention(Duration retention) {
            Durable copy = copy();
            copy.retention = between("retention", retention, Duration.ofSeconds(1), Duration.ofDays(3650));
            return copy;
        }

        /**
         * How long dead-lettered tasks stay (default 30 days).
         *
         * @param retention 1 second to 3650 days
         * @return a copy with that retention
         */
        public Durable withDeadLetterRetention(Duration retention) {
            Durable copy = copy();
            copy.deadLetterRetention = between("deadLetterRetention", retention, Duration.ofSeconds(1),
                    Duration.ofDays(3650));
            return copy;
        }

        /**
         * How often a host looks for new tasks and ended ones when no notification tells it (always for SQLite;
         * PostgreSQL notifies, and this is its fallback). Default 250 ms.
         *
         * @param interval 10 ms to 1 minute
         * @return a copy with that interval
         */
        public Durable withPollInterval(Duration interval) {
            Durable copy = copy();
            copy.pollInterval = between("pollInterval", interval, Duration.ofMillis(10), Duration.ofMinutes(1));
            return copy;
        }

        /**
         * How long a SQLite statement waits for another process's write to finish (default 5 s).
         *
         * @param timeout 0 to 10 minutes
         * @return a copy with that timeout
         */
        public Durable withBusyTimeout(Duration timeout) {
            Durable copy = copy();
            copy.busyTimeout = between("busyTimeout", timeout, Duration.ZERO, Duration.ofMinutes(10));
            return copy;
        }

        /**
         * How long a PostgreSQL call may wait for the network before the store counts the database unreachable
         * (default 30 s).
         *
         * @param timeout 1 second to 1 hour
         * @return a copy with that timeout
         */
        public Durable withNetworkTimeout(Duration timeout) {
            Durable copy = copy();
            copy.networkTimeout = between("networkTimeout", timeout, Duration.ofSeconds(1), Duration.ofHours(1));
            return copy;
        }

        /**
         * The most tasks written in one transaction (default 2000).
         *
         * @param tasks 1 to 100,000
         * @return a copy with that bound
         */
        public Durable withMaxBatchTasks(int tasks) {
            if (tasks < 1 || tasks > 100_000) {
                throw new IllegalArgumentException("maxBatchTasks must be between 1 and 100000, was " + tasks);
            }
            Durable copy = copy();
            copy.maxBatchTasks = tasks;
            return copy;
        }

        /**
         * How SQLite syncs commits (default {@link SqliteSync#FULL}).
         *
         * @param sync the sync mode
         * @return a copy with that mode
         */
        public Durable withSqliteSync(SqliteSync sync) {
            Objects.requireNonNull(sync, "sqliteSync");
            Durable copy = copy();
            copy.sqliteSync = sync;
            return copy;
        }

        /** {@return which database} */
        public Kind kind() {
            return kind;
        }

        /** {@return the SQLite file; empty for PostgreSQL} */
        public Optional<Path> file() {
            return Optional.ofNullable(file);
        }

        /** {@return the PostgreSQL data source; empty for SQLite} */
        public Optional<DataSource> dataSource() {
            return Optional.ofNullable(dataSource);
        }

        /** {@return the prefix of the table names} */
        public String tablePrefix() {
            return tablePrefix;
        }

        /** {@return the PostgreSQL schema, if one is set} */
        public Optional<String> schema() {
            return Optional.ofNullable(schema);
        }

        /** {@return how long a claim on a running attempt lasts without renewal} */
        public Duration leaseTimeout() {
            return leaseTimeout;
        }

        /** {@return how long ended tasks stay findable} */
        public Duration retention() {
            return retention;
        }

        /** {@return how long dead-lettered tasks stay} */
        public Duration deadLetterRetention() {
            return deadLetterRetention;
        }

        /** {@return how often to look for changes when nothing notifies} */
        public Duration pollInterval() {
            return pollInterval;
        }

        /** {@return how long a SQLite statement waits for another process's write} */
        public Duration busyTimeout() {
            return busyTimeout;
        }

        /** {@return how long a PostgreSQL call may wait for the network} */
        public Duration networkTimeout() {
            return networkTimeout;
        }

        /** {@return the most tasks written in one transaction} */
        public int maxBatchTasks() {
            return maxBatchTasks;
        }

        /** {@return how SQLite syncs commits} */
        public SqliteSync sqliteSync() {
            return sqliteSync;
        }

        private static Duration between(String setting, Duration value, Duration min, Duration max) {
            Objects.requireNonNull(value, setting);
            if (value.compareTo(min) < 0 || value.compareTo(max) > 0) {
                throw new IllegalArgumentException(setting + " must be between " + min + " and " + max + ", was "
                        + value);
            }
            return value;
        }

        @Override
        public String toString() {
            return kind == Kind.SQLITE ? "SQLite " + file : "PostgreSQL " + dataSource.getClass().getSimpleName()
                    + schema().map(s -> " schema " + s).orElse("") + " tables " + tablePrefix + "*";
        }
    }
}
