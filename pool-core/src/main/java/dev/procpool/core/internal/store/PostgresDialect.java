package dev.procpool.core.internal.store;

import java.nio.charset.StandardCharsets;
import java.sql.Array;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.SQLNonTransientConnectionException;
import java.sql.SQLRecoverableException;
import java.sql.SQLTransientConnectionException;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * PostgreSQL: several hosts on one database. Claims and rescues take rows with {@code FOR UPDATE SKIP LOCKED}, so
 * concurrent hosts never wait for each other's rows nor get the same task; inserts go in one statement over arrays
 * ({@code unnest}), whatever their number; hosts learn of new tasks, outcomes and cancels through NOTIFY.
 */
final class PostgresDialect extends Dialect {
    /** Connection-level failures, a server shutting down or starting, out of resources, canceled by a timeout. */
    private static final Set<String> UNAVAILABLE = Set.of("57P01", "57P02", "57P03", "57014", "53000", "53100",
            "53200", "53300", "58000", "58030", "25P03");
    private static final Set<String> CONFLICT = Set.of("40001", "40P01");

    PostgresDialect(Tables tables, StoreSettings settings) {
        super(tables, settings);
    }

    @Override
    String name() {
        return "PostgreSQL";
    }

    @Override
    String sequenceColumn() {
        return "seq BIGSERIAL PRIMARY KEY";
    }

    @Override
    void configure(Connection connection, String role) throws SQLException {
        connection.setAutoCommit(true); // so the settings below outlive the first transaction's end
        // A socket that silently stops answering must fail the call, not hang the store's thread for the
        // kernel's TCP timeout; the listener waits in shorter slices than this.
        connection.setNetworkTimeout(Runnable::run, (int) Math.min(Integer.MAX_VALUE,
                settings.networkTimeout().toMillis()));
        // A host paused inside a transaction (a long GC, SIGSTOP) would hold its row locks, and SKIP LOCKED would
        // hide those rows from every rescuer. The server ends such a session after half the lease timeout (at
        // least 1 s), releasing the locks; the paused host reconnects when it wakes.
        long idleMillis = Math.max(1_000, settings.leaseTimeout().toMillis() / 2);
        execute(connection, "SET idle_in_transaction_session_timeout = " + idleMillis);
        connection.setAutoCommit(!role.equals("writer"));
    }

    @Override
    void begin(Connection connection) throws SQLException {
        connection.setAutoCommit(false); // already so for the writer: a no-op
    }

    @Override
    void commit(Connection connection) throws SQLException {
        connection.commit();
    }

    @Override
    void rollback(Connection connection) throws SQLException {
        if (!connection.isClosed()) {
            connection.rollback();
        }
    }

    @Override
    void lockSchema(Connection connection) throws SQLException {
        try (PreparedStatement lock = connection.prepareStatement("SELECT pg_advisory_xact_lock(?)")) {
            lock.setLong(1, lockKey(tables.lockName()));
            lock.executeQuery().close();
        }
        if (!tables.qualifier().isEmpty()) {
            String schema = tables.qualifier().substring(0, tables.qualifier().length() - 1);
            boolean exists;
            try (PreparedStatement select = connection.prepareStatement(
                    "SELECT 1 FROM pg_namespace WHERE nspname = ?")) {
                select.setString(1, schema);
                try (ResultSet rows = select.executeQuery()) {
                    exists = rows.next();
                }
            }
            if (!exists) { // only then: a user without CREATE on the database can use a schema made for it
                execute(connection, "CREATE SCHEMA " + schema);
            }
        }
    }

    /** A stable 64-bit key for the advisory lock (FNV-1a of the name). */
    static long lockKey(String name) {
        long hash = 0xcbf29ce484222325L;
        for (byte b : name.getBytes(StandardCharsets.UTF_8)) {
            hash ^= b & 0xff;
            hash *= 0x100000001b3L;
        }
        return hash;
    }

    @Override
    boolean isUnavailable(SQLException e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof SQLTransientConnectionException || t instanceof SQLNonTransientConnectionException
                    || t instanceof SQLRecoverableException) {
                return true;
            }
            if (t instanceof SQLException sql && sql.getSQLState() != null
                    && (sql.getSQLState().startsWith("08") || UNAVAILABLE.contains(sql.getSQLState()))) {
                return true;
            }
        }
        return false;
    }

    @Override
    boolean isConflict(SQLException e) {
        return e.getSQLState() != null && CONFLICT.contains(e.getSQLState());
    }

    @Override
    String lockRows() {
        return " FOR UPDATE";
    }

    @Override
    String skipLocked() {
        return " FOR UPDATE SKIP LOCKED";
    }

    @Override
    String inJsonArray(String expression) {
        return expression + " IN (SELECT jsonb_array_elements_text(?::jsonb))";
    }

    @Override
    String capabilitiesWithin(String column) {
        return "(" + column + " IS NULL OR " + column + "::jsonb <@ ?::jsonb)";
    }

    @Override
    boolean[] insertTasks(ConnectionSlot slot, String pool, List<NewTask> tasks) throws SQLException {
        int n = tasks.size();
        String[] ids = new String[n];
        String[] types = new String[n];
        String[] caps = new String[n];
        String[] payloads = new String[n];
        Integer[] priorities = new Integer[n];
        Long[] ranks = new Long[n];
        Long[] notBefore = new Long[n];
        Long[] timeouts = new Long[n];
        String[] policies = new String[n];
        String[] affinity = new String[n];
        Long[] submitted = new Long[n];
        for (int i = 0; i < n; i++) {
            NewTask task = tasks.get(i);
            ids[i] = task.id();
            types[i] = task.type();
            caps[i] = StoreJson.stringSet(task.requiredCapabilities());
            payloads[i] = task.payloadJson();
            priorities[i] = task.priority();
            ranks[i] = task.rank();
            notBefore[i] = task.notBefore().toEpochMilli();
            timeouts[i] = task.timeout() == null ? null : task.timeout().toMillis();
            policies[i] = StoreJson.retryPolicy(task.retryPolicy());
            affinity[i] = task.affinityKey();
            submitted[i] = task.submittedAt().toEpochMilli();
        }
        Connection c = slot.get();
        // One statement for the whole batch, rows in list order (so sequences follow it); rows whose id exists in
        // either table are skipped.
        PreparedStatement insert = slot.prepare("INSERT INTO " + tables.task() + " (pool, id, type, caps, payload, "
                + "priority, rank, not_before, timeout_ms, retry_policy, affinity_key, submitted_at, state) "
                + "SELECT ?, u.id, u.type, u.caps, u.payload, u.priority, u.rank, u.not_before, u.timeout_ms, "
                + "u.retry_policy, u.affinity_key, u.submitted_at, "
                + "CASE WHEN u.not_before > u.submitted_at THEN 'SCHEDULED' ELSE 'QUEUED' END "
                + "FROM unnest(?::text[], ?::text[], ?::text[], ?::text[], ?::int[], ?::bigint[], ?::bigint[], "
                + "?::bigint[], ?::text[], ?::text[], ?::bigint[]) WITH ORDINALITY "
                + "AS u(id, type, caps, payload, priority, rank, not_before, timeout_ms, retry_policy, affinity_key, "
                + "submitted_at, ord) "
                + "WHERE NOT EXISTS (SELECT 1 FROM " + tables.ended() + " e WHERE e.pool = ? AND e.id = u.id) "
                + "ORDER BY u.ord "
                + "ON CONFLICT (pool, id) DO NOTHING RETURNING id");
        int p = 1;
        insert.setString(p++, pool);
        insert.setArray(p++, c.createArrayOf("text", ids));
        insert.setArray(p++, c.createArrayOf("text", types));
        insert.setArray(p++, c.createArrayOf("text", caps));
        insert.setArray(p++, c.createArrayOf("text", payloads));
        insert.setArray(p++, c.createArrayOf("int4", priorities));
        insert.setArray(p++, c.createArrayOf("int8", ranks));
        insert.setArray(p++, c.createArrayOf("int8", notBefore));
        insert.setArray(p++, c.createArrayOf("int8", timeouts));
        insert.setArray(p++, c.createArrayOf("text", policies));
        insert.setArray(p++, c.createArrayOf("text", affinity));
        insert.setArray(p++, c.createArrayOf("int8", submitted));
        insert.setString(p, pool);
        Map<String, Integer> inserted = new HashMap<>();
        try (ResultSet rows = insert.executeQuery()) {
            while (rows.next()) {
                inserted.merge(rows.getString(1), 1, Integer::sum);
            }
        }
        if (!inserted.isEmpty()) {
            // A task that ended (and left the hot table) while this insert waited on its row: the insert's
            // NOT EXISTS saw the ended table before that commit. This statement sees it; the new row goes.
            PreparedStatement undo = slot.prepare("DELETE FROM " + tables.task() + " t USING " + tables.ended()
                    + " e WHERE t.pool = ? AND t.id = ANY(?) AND e.pool = t.pool AND e.id = t.id RETURNING t.id");
            undo.setString(1, pool);
            Array array = c.createArrayOf("text", inserted.keySet().toArray(new String[0]));
            undo.setArray(2, array);
            try (ResultSet rows = undo.executeQuery()) {
                while (rows.next()) {
                    inserted.remove(rows.getString(1));
                }
            }
        }
        boolean[] created = new boolean[n];
        for (int i = 0; i < n; i++) { // a repeated id in one batch: its first occurrence was inserted
            created[i] = inserted.remove(ids[i]) != null;
        }
        return created;
    }

    @Override
    String claimSql(String filter) {
        return "WITH picked AS (SELECT seq FROM " + tables.task() + " WHERE pool = ? AND state = 'QUEUED' "
                + "AND not_before <= ? AND (" + filter + ") ORDER BY rank, seq LIMIT ?" + skipLocked() + ") "
                + "UPDATE " + tables.task() + " t SET state = 'RUNNING', attempt = t.attempt + 1, lease_owner = ?, "
                + "lease_token = ?, lease_expires = ?, claimed_at = ?, cancel_requested = FALSE "
                + "FROM picked WHERE t.seq = picked.seq "
                + "RETURNING t.seq, t.id, t.type, t.caps, t.payload, t.priority, t.rank, t.timeout_ms, "
                + "t.retry_policy, t.affinity_key, t.submitted_at, t.attempt";
    }

    @Override
    boolean[] endTasks(ConnectionSlot slot, String pool, List<EndedRow> rows) throws SQLException {
        // One statement for every end of the batch, over arrays: the fenced delete and the ended rows' insert
        // cannot be separated by another host's rescue, and the server plans and runs one statement, not one per
        // task. The rows come back by sequence: the ends whose fence held.
        int n = rows.size();
        Long[] seqs = new Long[n];
        String[] ids = new String[n];
        Integer[] attempts = new Integer[n];
        Long[] tokens = new Long[n];
        String[] states = new String[n];
        String[] results = new String[n];
        String[] reasons = new String[n];
        String[] messages = new String[n];
        String[] hosts = new String[n];
        String[] workers = new String[n];
        Long[] pids = new Long[n];
        Long[] durations = new Long[n];
        Long[] endedAt = new Long[n];
        Long[] expires = new Long[n];
        for (int i = 0; i < n; i++) {
            EndedRow row = rows.get(i);
            seqs[i] = row.lease().sequence();
            ids[i] = row.lease().taskId();
            attempts[i] = row.lease().attempt();
            tokens[i] = row.lease().token();
            states[i] = row.state();
            results[i] = row.result();
            reasons[i] = row.reason();
            messages[i] = row.message();
            hosts[i] = row.host();
            workers[i] = row.workerId();
            pids[i] = row.pid();
            durations[i] = row.duration();
            endedAt[i] = row.endedAt();
            expires[i] = row.expires();
        }
        PreparedStatement end = slot.prepare("WITH i AS (SELECT * FROM unnest(?::bigint[], ?::text[], ?::int[], "
                + "?::bigint[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::bigint[], "
                + "?::bigint[], ?::bigint[], ?::bigint[]) AS u(seq, id, attempt, token, state, result, reason, "
                + "message, host, worker_id, worker_pid, duration_ms, ended_at, expires_at)), "
                + "d AS (DELETE FROM " + tables.task() + " t USING i WHERE t.seq = i.seq AND t.pool = ? "
                + "AND t.id = i.id AND t.state = 'RUNNING' AND t.attempt = i.attempt AND t.lease_token = i.token "
                + "RETURNING t.pool, t.id, t.seq, t.type, t.caps, t.payload, t.priority, t.rank, t.timeout_ms, "
                + "t.retry_policy, t.affinity_key, t.submitted_at, t.attempt, t.lease_token, i.state, i.result, "
                + "i.reason, i.message, i.host, i.worker_id, i.worker_pid, i.duration_ms, i.ended_at, "
                + "i.expires_at) "
                + "INSERT INTO " + tables.ended() + " (" + ENDED_COLUMNS + ") SELECT " + TASK_COLUMNS + ", state, "
                + "result, reason, message, host, worker_id, worker_pid, duration_ms, ended_at, expires_at, "
                + "lease_token FROM d RETURNING seq");
        Connection c = slot.get();
        int p = 1;
        end.setArray(p++, c.createArrayOf("int8", seqs));
        end.setArray(p++, c.createArrayOf("text", ids));
        end.setArray(p++, c.createArrayOf("int4", attempts));
        end.setArray(p++, c.createArrayOf("int8", tokens));
        end.setArray(p++, c.createArrayOf("text", states));
        end.setArray(p++, c.createArrayOf("text", results));
        end.setArray(p++, c.createArrayOf("text", reasons));
        end.setArray(p++, c.createArrayOf("text", messages));
        end.setArray(p++, c.createArrayOf("text", hosts));
        end.setArray(p++, c.createArrayOf("text", workers));
        end.setArray(p++, c.createArrayOf("int8", pids));
        end.setArray(p++, c.createArrayOf("int8", durations));
        end.setArray(p++, c.createArrayOf("int8", endedAt));
        end.setArray(p++, c.createArrayOf("int8", expires));
        end.setString(p, pool);
        java.util.Set<Long> moved = new java.util.HashSet<>();
        try (ResultSet returned = end.executeQuery()) {
            while (returned.next()) {
                moved.add(returned.getLong(1));
            }
        }
        boolean[] ended = new boolean[n];
        for (int i = 0; i < n; i++) {
            ended[i] = moved.remove(seqs[i]); // a lease given twice: only its first end counts
        }
        return ended;
    }

    /**
     * A hot table that grew from empty faster than autovacuum analyzes it looks tiny to the planner, which then
     * sorts every queued row for each claim instead of reading the claim index in order (measured: 240 ms instead
     * of 0.3 ms at 240,000 queued tasks). Once analyzed, estimates scale with the table's size, so the writer
     * analyzes at a few growth milestones (see JdbcTaskStore) and autovacuum does the rest.
     */
    @Override
    void refreshStatistics(Connection connection) throws SQLException {
        execute(connection, "ANALYZE " + tables.task());
        connection.commit();
    }

    @Override
    boolean notifies() {
        return true;
    }

    @Override
    void notify(ConnectionSlot slot, String payload) throws SQLException {
        PreparedStatement notify = slot.prepare("SELECT pg_notify(?, ?)");
        notify.setString(1, tables.channel());
        notify.setString(2, payload);
        notify.executeQuery().close();
    }
}
