package dev.procpool.core.internal.store;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.List;

/**
 * The versioned schema. Each version is a list of statements applied in one transaction with the version's row,
 * under the dialect's schema lock (a PostgreSQL advisory lock; SQLite's write lock), so that several hosts
 * starting at once migrate exactly once and a failed migration leaves the previous version intact. A database at a
 * newer version than this code knows is refused rather than written to.
 *
 * <p>Times are epoch milliseconds in BIGINT columns in both dialects: uniform, compact, and compared across hosts.
 * States are text ('QUEUED', 'SCHEDULED', 'RUNNING' in the hot table; the terminal {@code TaskState} names in the
 * ended table), readable to an operator running a query.
 */
final class Migrations {
    /** The version this code writes. */
    static final int LATEST = 2;

    private Migrations() {
    }

    /** The statements of one version. */
    static List<String> statements(Dialect dialect, int version) {
        Tables t = dialect.tables;
        return switch (version) {
            // Version 1: the hot table, the ended table, failed attempts, hosts.
            case 1 -> List.of(
                    "CREATE TABLE " + t.task() + " ("
                            + dialect.sequenceColumn() + ", "
                            + "pool TEXT NOT NULL, "
                            + "id TEXT NOT NULL, "
                            + "type TEXT NOT NULL, "
                            + "caps TEXT, "
                            + "payload TEXT NOT NULL, "
                            + "priority INTEGER NOT NULL, "
                            + "rank BIGINT NOT NULL, "
                            + "not_before BIGINT NOT NULL, "
                            + "timeout_ms BIGINT, "
                            + "retry_policy TEXT NOT NULL, "
                            + "affinity_key TEXT, "
                            + "submitted_at BIGINT NOT NULL, "
                            + "state TEXT NOT NULL, "
                            + "attempt INTEGER NOT NULL DEFAULT 0, "
                            + "lease_owner TEXT, "
                            + "lease_token BIGINT, "
                            + "lease_expires BIGINT, "
                            + "claimed_at BIGINT, "
                            + "cancel_requested BOOLEAN NOT NULL DEFAULT FALSE, "
                            + "UNIQUE (pool, id))",
                    // Claims scan only due rows, in run order; delayed and retry-waiting rows wait apart.
                    "CREATE INDEX " + t.index("task_due") + " ON " + t.task() + " (pool, rank, seq) "
                            + "WHERE state = 'QUEUED'",
                    "CREATE INDEX " + t.index("task_scheduled") + " ON " + t.task() + " (pool, not_before) "
                            + "WHERE state = 'SCHEDULED'",
                    "CREATE INDEX " + t.index("task_running") + " ON " + t.task() + " (pool, lease_expires) "
                            + "WHERE state = 'RUNNING'",
                    "CREATE TABLE " + t.ended() + " ("
                            + "pool TEXT NOT NULL, "
                            + "id TEXT NOT NULL, "
                            + "seq BIGINT NOT NULL, "
                            + "type TEXT NOT NULL, "
                            + "caps TEXT, "
                            + "payload TEXT NOT NULL, "
                            + "priority INTEGER NOT NULL, "
                            + "rank BIGINT NOT NULL, "
                            + "timeout_ms BIGINT, "
                            + "retry_policy TEXT NOT NULL, "
                            + "affinity_key TEXT, "
                            + "submitted_at BIGINT NOT NULL, "
                            + "attempt INTEGER NOT NULL, "
                            + "state TEXT NOT NULL, "
                            + "result TEXT, "
                            + "reason TEXT, "
                            + "message TEXT NOT NULL DEFAULT '', "
                            + "final_token BIGINT, "
                            + "ended_at BIGINT NOT NULL, "
                            + "expires_at BIGINT NOT NULL, "
                            + "PRIMARY KEY (pool, id))",
                    "CREATE INDEX " + t.index("ended_expiry") + " ON " + t.ended() + " (expires_at)",
                    "CREATE INDEX " + t.index("ended_dead") + " ON " + t.ended() + " (pool, ended_at) "
                            + "WHERE state = 'DEAD_LETTERED'",
                    "CREATE TABLE " + t.attempt() + " ("
                            + "pool TEXT NOT NULL, "
                            + "task_id TEXT NOT NULL, "
                            + "attempt INTEGER NOT NULL, "
                            + "lease_token BIGINT, "
                            + "host TEXT NOT NULL, "
                            + "worker_id TEXT NOT NULL, "
                            + "worker_pid BIGINT NOT NULL, "
                            + "reason TEXT NOT NULL, "
                            + "detail TEXT NOT NULL, "
                            + "exit_code INTEGER, "
                            + "signal INTEGER, "
                            + "duration_ms BIGINT NOT NULL, "
                            + "peak_rss BIGINT NOT NULL, "
                            + "output_tail TEXT, "
                            + "error_class TEXT, "
                            + "error_message TEXT, "
                            + "error_stack TEXT, "
                            + "ended_at BIGINT NOT NULL, "
                            + "PRIMARY KEY (pool, task_id, attempt))",
                    "CREATE TABLE " + t.host() + " ("
                            + "pool TEXT NOT NULL, "
                            + "name TEXT NOT NULL, "
                            + "pid BIGINT NOT NULL, "
                            + "started_at BIGINT NOT NULL, "
                            + "last_seen BIGINT NOT NULL, "
                            + "PRIMARY KEY (pool, name))");
            // Version 2: hosts know their machine and process start, so a host on the same machine rescues the
            // leases of a dead one by its pid at once instead of after the lease timeout; ended tasks keep who ran
            // the final attempt.
            case 2 -> List.of(
                    "ALTER TABLE " + t.host() + " ADD COLUMN machine TEXT",
                    "ALTER TABLE " + t.host() + " ADD COLUMN process_started BIGINT",
                    "ALTER TABLE " + t.host() + " ADD COLUMN stopped_at BIGINT",
                    "ALTER TABLE " + t.ended() + " ADD COLUMN host TEXT",
                    "ALTER TABLE " + t.ended() + " ADD COLUMN worker_id TEXT",
                    "ALTER TABLE " + t.ended() + " ADD COLUMN worker_pid BIGINT",
                    "ALTER TABLE " + t.ended() + " ADD COLUMN duration_ms BIGINT");
            default -> throw new IllegalArgumentException("no schema version " + version);
        };
    }

    /**
     * Brings the schema to {@code target} in one transaction under the schema lock; returns the version found
     * before. The connection must not be in a transaction.
     */
    static int migrate(Dialect dialect, Connection connection, int target, String appliedBy, long now)
            throws SQLException {
        Tables t = dialect.tables;
        dialect.begin(connection);
        try {
            dialect.lockSchema(connection);
            Dialect.execute(connection, "CREATE TABLE IF NOT EXISTS " + t.schemaVersion() + " ("
                    + "version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL, applied_by TEXT NOT NULL)");
            int found;
            try (PreparedStatement select = connection.prepareStatement(
                    "SELECT COALESCE(MAX(version), 0) FROM " + t.schemaVersion());
                 ResultSet rows = select.executeQuery()) {
                rows.next();
                found = rows.getInt(1);
            }
            if (found > LATEST) {
                throw new IllegalStateException("the task store's schema (tables " + t.task() + "…) is at version "
                        + found + ", newer than this procpool knows (" + LATEST + "): upgrade procpool on this host");
            }
            for (int version = found + 1; version <= target; version++) {
                for (String statement : statements(dialect, version)) {
                    Dialect.execute(connection, statement);
                }
                try (PreparedStatement insert = connection.prepareStatement("INSERT INTO " + t.schemaVersion()
                        + " (version, applied_at, applied_by) VALUES (?, ?, ?)")) {
                    insert.setInt(1, version);
                    insert.setLong(2, now);
                    insert.setString(3, appliedBy);
                    insert.executeUpdate();
                }
            }
            dialect.commit(connection);
            return found;
        } catch (SQLException | RuntimeException e) {
            try {
                dialect.rollback(connection);
            } catch (SQLException suppressed) {
                e.addSuppressed(suppressed);
            }
            throw e;
        }
    }
}
