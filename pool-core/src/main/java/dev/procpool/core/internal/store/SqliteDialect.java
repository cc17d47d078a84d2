package dev.procpool.core.internal.store;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * SQLite: one file in WAL mode, shared by the host processes of one machine. Every write transaction starts with
 * {@code BEGIN IMMEDIATE}, which takes the file's write lock at once (waiting up to the busy timeout for another
 * process), so transactions are serial and never fail by upgrading a read lock; readers never block. Within one
 * process all writes go through the store's single writer, so the busy timeout is only ever spent on other
 * processes.
 */
final class SqliteDialect extends Dialect {
    /** SQLITE_BUSY, SQLITE_LOCKED, SQLITE_READONLY, SQLITE_IOERR, SQLITE_FULL, SQLITE_CANTOPEN (primary codes). */
    private static final Set<Integer> UNAVAILABLE = Set.of(5, 6, 8, 10, 13, 14);

    SqliteDialect(Tables tables, StoreSettings settings) {
        super(tables, settings);
    }

    @Override
    String name() {
        return "SQLite";
    }

    @Override
    String sequenceColumn() {
        return "seq INTEGER PRIMARY KEY"; // the rowid itself: no second b-tree
    }

    @Override
    void configure(Connection connection, String role) throws SQLException {
        connection.setAutoCommit(true); // transactions are begun explicitly (BEGIN IMMEDIATE)
        try (Statement statement = connection.createStatement()) {
            statement.execute("PRAGMA busy_timeout = " + settings.busyTimeout().toMillis());
            try (ResultSet mode = statement.executeQuery("PRAGMA journal_mode = WAL")) {
                if (!mode.next() || !"wal".equalsIgnoreCase(mode.getString(1))) {
                    throw new SQLException("the SQLite file does not accept WAL mode (a network file system?)");
                }
            }
            statement.execute("PRAGMA synchronous = " + settings.sqliteSync().name());
        }
    }

    @Override
    void begin(Connection connection) throws SQLException {
        execute(connection, "BEGIN IMMEDIATE");
    }

    @Override
    void commit(Connection connection) throws SQLException {
        execute(connection, "COMMIT");
    }

    @Override
    void rollback(Connection connection) throws SQLException {
        if (!connection.isClosed() && !connection.getAutoCommit()) {
            connection.rollback();
            return;
        }
        try {
            execute(connection, "ROLLBACK");
        } catch (SQLException e) {
            // SQLite rolls back by itself after some errors (a full disk): then there is nothing left to undo
            if (e.getMessage() == null || !e.getMessage().contains("no transaction is active")) {
                throw e;
            }
        }
    }

    @Override
    void lockSchema(Connection connection) {
        // BEGIN IMMEDIATE already holds the file's write lock
    }

    @Override
    boolean isUnavailable(SQLException e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof SQLException sql && UNAVAILABLE.contains(sql.getErrorCode() & 0xff)) {
                return true;
            }
        }
        return false;
    }

    @Override
    boolean isConflict(SQLException e) {
        return false; // transactions are serial
    }

    @Override
    String lockRows() {
        return "";
    }

    @Override
    String skipLocked() {
        return "";
    }

    @Override
    String inJsonArray(String expression) {
        return expression + " IN (SELECT value FROM json_each(?))";
    }

    @Override
    String capabilitiesWithin(String column) {
        return "(" + column + " IS NULL OR NOT EXISTS (SELECT 1 FROM json_each(" + column + ") AS c "
                + "WHERE c.value NOT IN (SELECT value FROM json_each(?))))";
    }

    @Override
    boolean[] insertTasks(ConnectionSlot slot, String pool, List<NewTask> tasks) throws SQLException {
        PreparedStatement insert = slot.prepare("INSERT INTO " + tables.task() + " (pool, id, type, caps, payload, "
                + "priority, rank, not_before, timeout_ms, retry_policy, affinity_key, submitted_at, state) "
                + "SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ? "
                + "WHERE NOT EXISTS (SELECT 1 FROM " + tables.ended() + " WHERE pool = ? AND id = ?) "
                + "ON CONFLICT (pool, id) DO NOTHING");
        for (NewTask task : tasks) {
            int p = 1;
            insert.setString(p++, pool);
            insert.setString(p++, task.id());
            insert.setString(p++, task.type());
            insert.setString(p++, StoreJson.stringSet(task.requiredCapabilities()));
            insert.setString(p++, task.payloadJson());
            insert.setInt(p++, task.priority());
            insert.setLong(p++, task.rank());
            insert.setLong(p++, task.notBefore().toEpochMilli());
            if (task.timeout() == null) {
                insert.setNull(p++, java.sql.Types.BIGINT);
            } else {
                insert.setLong(p++, task.timeout().toMillis());
            }
            insert.setString(p++, StoreJson.retryPolicy(task.retryPolicy()));
            insert.setString(p++, task.affinityKey());
            insert.setLong(p++, task.submittedAt().toEpochMilli());
            insert.setString(p++, task.notBefore().isAfter(task.submittedAt()) ? "SCHEDULED" : "QUEUED");
            insert.setString(p++, pool);
            insert.setString(p, task.id());
            insert.addBatch();
        }
        return changed(slot.executeBatch(insert));
    }

    @Override
    String claimSql(String filter) {
        return "WITH picked AS (SELECT seq FROM " + tables.task() + " WHERE pool = ? AND state = 'QUEUED' "
                + "AND not_before <= ? AND (" + filter + ") ORDER BY rank, seq LIMIT ?) "
                + "UPDATE " + tables.task() + " SET state = 'RUNNING', attempt = attempt + 1, lease_owner = ?, "
                + "lease_token = ?, lease_expires = ?, claimed_at = ?, cancel_requested = FALSE "
                + "WHERE seq IN (SELECT seq FROM picked) "
                + "RETURNING seq, id, type, caps, payload, priority, rank, timeout_ms, retry_policy, affinity_key, "
                + "submitted_at, attempt";
    }

    @Override
    boolean[] endTasks(ConnectionSlot slot, String pool, List<EndedRow> rows) throws SQLException {
        // Transactions are serial, so the copy and the delete need no lock between them.
        PreparedStatement copy = slot.prepare("INSERT INTO " + tables.ended() + " (" + ENDED_COLUMNS + ") "
                + "SELECT " + TASK_COLUMNS + ", " + OUTCOME_VALUES + " FROM " + tables.task()
                + " WHERE " + Writes.FENCE);
        for (EndedRow row : rows) {
            int p = bindOutcome(copy, 1, row);
            Writes.bindFence(copy, p, pool, row.lease());
            copy.addBatch();
        }
        boolean[] ended = changed(slot.executeBatch(copy));
        List<EndedRow> moved = new ArrayList<>();
        for (int i = 0; i < rows.size(); i++) {
            if (ended[i]) {
                moved.add(rows.get(i));
            }
        }
        if (!moved.isEmpty()) {
            PreparedStatement delete = slot.prepare("DELETE FROM " + tables.task() + " WHERE " + Writes.FENCE);
            for (EndedRow row : moved) {
                Writes.bindFence(delete, 1, pool, row.lease());
                delete.addBatch();
            }
            slot.executeBatch(delete);
        }
        return ended;
    }
}
