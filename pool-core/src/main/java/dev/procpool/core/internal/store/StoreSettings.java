package dev.procpool.core.internal.store;

import java.time.Duration;
import java.util.Objects;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * How a task store names its tables and how long it keeps things. Immutable; build one with {@link #builder()},
 * whose setters check each value and name the setting, the bad value and what is allowed.
 *
 * <p>Table and schema names are spliced into SQL, so they are restricted to lower-case identifiers that need no
 * quoting in either dialect.
 */
public final class StoreSettings {
    private static final Pattern PREFIX = Pattern.compile("[a-z][a-z0-9_]{0,29}");
    private static final Pattern SCHEMA = Pattern.compile("[a-z_][a-z0-9_]{0,62}");

    /** How SQLite makes a commit durable. */
    public enum SqliteSync {
        /** Every commit reaches the disk before the call returns (fsync per group commit): survives power loss. */
        FULL,
        /** Commits reach the operating system; the WAL is synced at checkpoints: survives a crash of the process. */
        NORMAL
    }

    private final String tablePrefix;
    private final String schema;
    private final Duration leaseTimeout;
    private final Duration retention;
    private final Duration deadLetterRetention;
    private final Duration pollInterval;
    private final Duration busyTimeout;
    private final Duration networkTimeout;
    private final int maxBatchTasks;
    private final SqliteSync sqliteSync;

    private StoreSettings(Builder b) {
        this.tablePrefix = b.tablePrefix;
        this.schema = b.schema;
        this.leaseTimeout = b.leaseTimeout;
        this.retention = b.retention;
        this.deadLetterRetention = b.deadLetterRetention;
        this.pollInterval = b.pollInterval;
        this.busyTimeout = b.busyTimeout;
        this.networkTimeout = b.networkTimeout;
        this.maxBatchTasks = b.maxBatchTasks;
        this.sqliteSync = b.sqliteSync;
    }

    /** A builder with the defaults. */
    public static Builder builder() {
        return new Builder();
    }

    /** The defaults. */
    public static StoreSettings defaults() {
        return builder().build();
    }

    /** Prefix of every table, index and notification channel of the store (default {@code procpool_}). */
    public String tablePrefix() {
        return tablePrefix;
    }

    /** The PostgreSQL schema of the tables; empty for the connection's search path. Ignored by SQLite. */
    public Optional<String> schema() {
        return Optional.ofNullable(schema);
    }

    /** How long a claimed attempt stays with its host without a renewal before any host may rescue it. */
    public Duration leaseTimeout() {
        return leaseTimeout;
    }

    /** How long ended tasks (results, failures, cancellations) are kept for {@code find}. */
    public Duration retention() {
        return retention;
    }

    /** How long dead-lettered tasks are kept. */
    public Duration deadLetterRetention() {
        return deadLetterRetention;
    }

    /**
     * How often the store looks for work and outcomes where it has no notification: always for SQLite, and for
     * PostgreSQL while its listening connection is down.
     */
    public Duration pollInterval() {
        return pollInterval;
    }

    /** How long a SQLite write waits for another process's write to finish before the store is unavailable. */
    public Duration busyTimeout() {
        return busyTimeout;
    }

    /** The longest a PostgreSQL call may wait on the network before its connection is given up. */
    public Duration networkTimeout() {
        return networkTimeout;
    }

    /** The most tasks one group commit carries (inserts and attempt records together). */
    public int maxBatchTasks() {
        return maxBatchTasks;
    }

    /** How SQLite makes commits durable. */
    public SqliteSync sqliteSync() {
        return sqliteSync;
    }

    @Override
    public String toString() {
        return "StoreSettings{tablePrefix=" + tablePrefix + ", schema=" + schema + ", leaseTimeout=" + leaseTimeout
                + ", retention=" + retention + ", deadLetterRetention=" + deadLetterRetention + ", pollInterval="
                + pollInterval + ", busyTimeout=" + busyTimeout + ", networkTimeout=" + networkTimeout
                + ", maxBatchTasks=" + maxBatchTasks + ", sqliteSync=" + sqliteSync + '}';
    }

    /** Builds {@link StoreSettings}; each setter validates its argument. Not thread-safe. */
    public static final class Builder {
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

        private Builder() {
        }

        /** 1 to 30 characters: a lower-case letter, then lower-case letters, digits or '_'. */
        public Builder tablePrefix(String prefix) {
            Objects.requireNonNull(prefix, "tablePrefix");
            if (!PREFIX.matcher(prefix).matches()) {
                throw new IllegalArgumentException("tablePrefix must be 1 to 30 characters: a lower-case letter, then "
                        + "lower-case letters, digits or '_', was \"" + prefix + "\"");
            }
            this.tablePrefix = prefix;
            return this;
        }

        /** A PostgreSQL schema: 1 to 63 lower-case letters, digits or '_', not starting with a digit. */
        public Builder schema(String schema) {
            Objects.requireNonNull(schema, "schema");
            if (!SCHEMA.matcher(schema).matches()) {
                throw new IllegalArgumentException("schema must be 1 to 63 lower-case letters, digits or '_', not "
                        + "starting with a digit, was \"" + schema + "\"");
            }
            this.schema = schema;
            return this;
        }

        /** 100 ms to 1 hour. Size it well above the host's renewal interval and its longest pause (GC, swap). */
        public Builder leaseTimeout(Duration timeout) {
            this.leaseTimeout = between("leaseTimeout", timeout, Duration.ofMillis(100), Duration.ofHours(1));
            return this;
        }

        /** 1 second to 3650 days. */
        public Builder retention(Duration retention) {
            this.retention = between("retention", retention, Duration.ofSeconds(1), Duration.ofDays(3650));
            return this;
        }

        /** 1 second to 3650 days. */
        public Builder deadLetterRetention(Duration retention) {
            this.deadLetterRetention = between("deadLetterRetention", retention, Duration.ofSeconds(1),
                    Duration.ofDays(3650));
            return this;
        }

        /** 10 ms to 1 minute. */
        public Builder pollInterval(Duration interval) {
            this.pollInterval = between("pollInterval", interval, Duration.ofMillis(10), Duration.ofMinutes(1));
            return this;
        }

        /** 0 to 10 minutes. */
        public Builder busyTimeout(Duration timeout) {
            this.busyTimeout = between("busyTimeout", timeout, Duration.ZERO, Duration.ofMinutes(10));
            return this;
        }

        /** 1 second to 1 hour. */
        public Builder networkTimeout(Duration timeout) {
            this.networkTimeout = between("networkTimeout", timeout, Duration.ofSeconds(1), Duration.ofHours(1));
            return this;
        }

        /** 1 to 100,000. */
        public Builder maxBatchTasks(int tasks) {
            if (tasks < 1 || tasks > 100_000) {
                throw new IllegalArgumentException("maxBatchTasks must be between 1 and 100000, was " + tasks);
            }
            this.maxBatchTasks = tasks;
            return this;
        }

        /** {@link SqliteSync#FULL} (default) or {@link SqliteSync#NORMAL}. */
        public Builder sqliteSync(SqliteSync sync) {
            this.sqliteSync = Objects.requireNonNull(sync, "sqliteSync");
            return this;
        }

        /** The immutable settings. */
        public StoreSettings build() {
            return new StoreSettings(this);
        }

        private static Duration between(String setting, Duration value, Duration min, Duration max) {
            Objects.requireNonNull(value, setting);
            if (value.compareTo(min) < 0 || value.compareTo(max) > 0) {
                throw new IllegalArgumentException(setting + " must be between " + min + " and " + max + ", was "
                        + value);
            }
            return value;
        }
    }
}
