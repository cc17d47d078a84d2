package dev.procpool.core.internal.store;

import dev.procpool.TaskStore;

import javax.sql.DataSource;
import java.time.Duration;
import java.util.Optional;

/**
 * How a task store names its tables and how long it keeps things: the settings of the public
 * {@link TaskStore.Durable}, which checks every value (the bad value and what is allowed in the message) and is the
 * one place those rules live. Table and schema names are spliced into SQL, so they are restricted there to lower-case
 * identifiers that need no quoting in either dialect.
 */
public final class StoreSettings {
    /** A data source that is never asked for a connection: it only carries the settings of a PostgreSQL kind. */
    private static final DataSource NONE = (DataSource) java.lang.reflect.Proxy.newProxyInstance(
            DataSource.class.getClassLoader(), new Class<?>[] {DataSource.class}, (proxy, method, args) -> {
                throw new UnsupportedOperationException("settings only");
            });

    private final TaskStore.Durable values;

    private StoreSettings(TaskStore.Durable values) {
        this.values = values;
    }

    /** The settings of a store the application configured. */
    public static StoreSettings of(TaskStore.Durable store) {
        return new StoreSettings(store);
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
        return values.tablePrefix();
    }

    /** The PostgreSQL schema of the tables; empty for the connection's search path. */
    public Optional<String> schema() {
        return values.schema();
    }

    /** How long a claimed attempt stays with its host without a renewal before any host may rescue it. */
    public Duration leaseTimeout() {
        return values.leaseTimeout();
    }

    /** How long ended tasks (results, failures, cancellations) are kept for {@code find}. */
    public Duration retention() {
        return values.retention();
    }

    /** How long dead-lettered tasks are kept. */
    public Duration deadLetterRetention() {
        return values.deadLetterRetention();
    }

    /** How often to look for changes when nothing notifies. */
    public Duration pollInterval() {
        return values.pollInterval();
    }

    /** How long a SQLite statement waits for another process's write. */
    public Duration busyTimeout() {
        return values.busyTimeout();
    }

    /** How long a PostgreSQL call may wait for the network. */
    public Duration networkTimeout() {
        return values.networkTimeout();
    }

    /** The most tasks written in one transaction. */
    public int maxBatchTasks() {
        return values.maxBatchTasks();
    }

    /** How SQLite syncs a commit. */
    public TaskStore.Durable.SqliteSync sqliteSync() {
        return values.sqliteSync();
    }

    /** Settings set one by one, for tests and tools; each setter checks its value as the public type does. */
    public static final class Builder {
        // of the PostgreSQL kind, which has every setting; a SQLite store refuses a schema when it is built
        private TaskStore.Durable values = TaskStore.postgres(NONE);

        private Builder() {
        }

        public Builder tablePrefix(String prefix) {
            values = values.withTablePrefix(prefix);
            return this;
        }

        public Builder schema(String schema) {
            values = values.withSchema(schema);
            return this;
        }

        public Builder leaseTimeout(Duration timeout) {
            values = values.withLeaseTimeout(timeout);
            return this;
        }

        public Builder retention(Duration retention) {
            values = values.withRetention(retention);
            return this;
        }

        public Builder deadLetterRetention(Duration retention) {
            values = values.withDeadLetterRetention(retention);
            return this;
        }

        public Builder pollInterval(Duration interval) {
            values = values.withPollInterval(interval);
            return this;
        }

        public Builder busyTimeout(Duration timeout) {
            values = values.withBusyTimeout(timeout);
            return this;
        }

        public Builder networkTimeout(Duration timeout) {
            values = values.withNetworkTimeout(timeout);
            return this;
        }

        public Builder maxBatchTasks(int tasks) {
            values = values.withMaxBatchTasks(tasks);
            return this;
        }

        public Builder sqliteSync(TaskStore.Durable.SqliteSync sync) {
            values = values.withSqliteSync(sync);
            return this;
        }

        public StoreSettings build() {
            return new StoreSettings(values);
        }
    }
}
