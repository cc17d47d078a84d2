package dev.procpool.core.internal.store;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;

/**
 * What differs between the databases the store runs on: session setup, transactions, locking, error
 * classification, and the few statements whose best form differs. Everything else is shared SQL.
 */
abstract class Dialect {
    final Tables tables;
    final StoreSettings settings;

    Dialect(Tables tables, StoreSettings settings) {
        this.tables = tables;
        this.settings = settings;
    }

    /** For messages: "PostgreSQL" or "SQLite". */
    abstract String name();

    /** The column definition of the task sequence (insertion order, the primary key of the hot table). */
    abstract String sequenceColumn();

    /** Prepares a new connection of the given role ("writer", "reader", "listener"). */
    abstract void configure(Connection connection, String role) throws SQLException;

    /** Starts a write transaction (SQLite takes the write lock here, so it never has to upgrade a read lock). */
    abstract void begin(Connection connection) throws SQLException;

    abstract void commit(Connection connection) throws SQLException;

    abstract void rollback(Connection connection) throws SQLException;

    /** Serializes schema migrations of every host; called first in the migration's transaction. */
    abstract void lockSchema(Connection connection) throws SQLException;

    /** Whether the failure means the database cannot be used now (connection, restart, lock timeout, full disk). */
    abstract boolean isUnavailable(SQLException e);

    /** Whether the transaction lost a conflict with another one (deadlock, serialization) and may simply rerun. */
    abstract boolean isConflict(SQLException e);

    /** Appended to a SELECT whose rows the transaction will change, where other hosts may be at the same rows. */
    abstract String lockRows();

    /** Appended to a SELECT of rows to take, skipping rows other hosts are taking. */
    abstract String skipLocked();

    /** A predicate: {@code expression} is one of the strings of the JSON array bound to the next parameter. */
    abstract String inJsonArray(String expression);

    /** A predicate: every capability in the JSON column (NULL: none) is in the JSON array of the next parameter. */
    abstract String capabilitiesWithin(String column);

    /**
     * Inserts the tasks that do not exist (hot or ended) in one go; returns for each whether it was inserted.
     * The rows get state QUEUED, or SCHEDULED when not before a later time than their submission.
     */
    abstract boolean[] insertTasks(ConnectionSlot slot, String pool, List<NewTask> tasks) throws SQLException;

    /** The claim statement: takes due tasks matching {@code filter} and starts their attempt. */
    abstract String claimSql(String filter);

    /**
     * Moves fenced running rows to the ended table; returns for each end whether its fence held. The bound
     * values are in {@link EndedRow} order.
     */
    abstract boolean[] endTasks(ConnectionSlot slot, String pool, List<EndedRow> rows) throws SQLException;

    /**
     * Called by the writer, outside any transaction, as the rows this store inserted grow; the dialect may refresh
     * the planner's statistics of the hot table.
     */
    void refreshStatistics(Connection connection) throws SQLException {
    }

    /** Whether the database can notify other hosts (LISTEN/NOTIFY). */
    boolean notifies() {
        return false;
    }

    /** Queues a notification delivered to every listening host when the transaction commits. */
    void notify(ConnectionSlot slot, String payload) throws SQLException {
        throw new UnsupportedOperationException(name() + " has no notifications");
    }

    /**
     * A running row to end: the fence, and what the ended row gets.
     *
     * @param lease    the fenced attempt
     * @param state    the terminal state's name
     * @param result   the result JSON, or null
     * @param reason   the final failure reason's name, or null
     * @param message  the final message
     * @param host     the host of the final attempt
     * @param workerId its worker
     * @param pid      its worker's pid
     * @param duration its duration in milliseconds
     * @param endedAt  when it ended (epoch milliseconds)
     * @param expires  when the ended row is purged (epoch milliseconds)
     */
    record EndedRow(LeaseRef lease, String state, String result, String reason, String message,
                    String host, String workerId, long pid, long duration, long endedAt, long expires) {
    }

    /** The ended row's columns taken from the hot row, in the order of {@link #ENDED_COLUMNS}. */
    static final String TASK_COLUMNS = "pool, id, seq, type, caps, payload, priority, rank, timeout_ms, "
            + "retry_policy, affinity_key, submitted_at, attempt";

    /** Every column of the ended row an end writes: the task's, then the outcome's. */
    static final String ENDED_COLUMNS = TASK_COLUMNS + ", state, result, reason, message, host, worker_id, "
            + "worker_pid, duration_ms, ended_at, expires_at, final_token";

    /** Binds the outcome values of an ended row from {@code index}; returns the next index. */
    static int bindOutcome(PreparedStatement statement, int index, EndedRow row) throws SQLException {
        statement.setString(index++, row.state());
        statement.setString(index++, row.result());
        statement.setString(index++, row.reason());
        statement.setString(index++, row.message());
        statement.setString(index++, row.host());
        statement.setString(index++, row.workerId());
        statement.setLong(index++, row.pid());
        statement.setLong(index++, row.duration());
        statement.setLong(index++, row.endedAt());
        statement.setLong(index++, row.expires());
        return index;
    }

    /** The placeholders of {@link #bindOutcome}, then the final token taken from the hot row. */
    static final String OUTCOME_VALUES = "?, ?, ?, ?, ?, ?, ?, ?, ?, ?, lease_token";

    /** Runs DDL or a setting on a connection. */
    static void execute(Connection connection, String sql) throws SQLException {
        try (Statement statement = connection.createStatement()) {
            statement.execute(sql);
        }
    }

    /**
     * Reads {@link PreparedStatement#executeBatch()} counts as "changed a row". Fencing depends on exact counts, so
     * a driver that withholds them is an error, not a guess.
     */
    static boolean[] changed(int[] counts) {
        boolean[] changed = new boolean[counts.length];
        for (int i = 0; i < counts.length; i++) {
            if (counts[i] == Statement.SUCCESS_NO_INFO) {
                throw new IllegalStateException("the JDBC driver did not report how many rows a batched statement "
                        + "changed; the store needs exact counts to fence answers");
            }
            changed[i] = counts[i] > 0;
        }
        return changed;
    }
}
