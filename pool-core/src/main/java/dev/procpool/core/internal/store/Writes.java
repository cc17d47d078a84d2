package dev.procpool.core.internal.store;

import dev.procpool.AttemptRecord;
import dev.procpool.FailureReason;
import dev.procpool.TaskState;

import java.security.SecureRandom;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * The bodies of the store's hot-path write transactions (insert, claim, renew, record), run on the writer thread
 * inside the transaction the writer began. Each method only reads and writes rows and collects what to announce
 * after the commit ({@link Effects}). The rarer writes are in {@link Upkeep}.
 */
final class Writes {
    /** Most rows one rescue or purge step takes, so that one transaction stays short. */
    static final int STEP = 500;
    /** The longest notification payload sent (PostgreSQL's limit is 8000 bytes). */
    private static final int MAX_PAYLOAD = 7000;

    /** What a transaction announces once committed: to this host's engine and watchers, and to other hosts. */
    static final class Effects {
        boolean tasksAvailable;
        final List<String> ended = new ArrayList<>();
        final List<String> cancelsForMe = new ArrayList<>();
        final List<String> notifications = new ArrayList<>();
    }

    /**
     * The fence of a running attempt, bound by {@link #bindFence}. The sequence comes first: the primary key, so
     * the statement is one index lookup even on a table the database has not analyzed yet (a partial index on the
     * pool would otherwise look cheaper, and scan every running row).
     */
    static final String FENCE = "seq = ? AND pool = ? AND id = ? AND state = 'RUNNING' AND attempt = ? "
            + "AND lease_token = ?";

    /** Binds {@link #FENCE} from {@code index}; returns the next index. */
    static int bindFence(PreparedStatement statement, int index, String pool, LeaseRef lease) throws SQLException {
        statement.setLong(index++, lease.sequence());
        statement.setString(index++, pool);
        statement.setString(index++, lease.taskId());
        statement.setInt(index++, lease.attempt());
        statement.setLong(index++, lease.token());
        return index;
    }

    private final Dialect dialect;
    private final Tables t;
    private final StoreSettings settings;
    private final String pool;
    private final HostIdentity host;
    private final SecureRandom random = new SecureRandom();

    Writes(Dialect dialect, String pool, HostIdentity host) {
        this.dialect = dialect;
        this.t = dialect.tables;
        this.settings = dialect.settings;
        this.pool = pool;
        this.host = host;
    }

    // ---- hosts

    void registerHost(ConnectionSlot slot, Instant now) throws SQLException {
        PreparedStatement upsert = slot.prepare("INSERT INTO " + t.host() + " (pool, name, pid, started_at, "
                + "last_seen, machine, process_started, stopped_at) VALUES (?, ?, ?, ?, ?, ?, ?, NULL) "
                + "ON CONFLICT (pool, name) DO UPDATE SET last_seen = excluded.last_seen, stopped_at = NULL");
        upsert.setString(1, pool);
        upsert.setString(2, host.name());
        upsert.setLong(3, host.pid());
        upsert.setLong(4, now.toEpochMilli());
        upsert.setLong(5, now.toEpochMilli());
        upsert.setString(6, host.machine());
        Rows.setLong(upsert, 7, host.processStarted() == null ? null : host.processStarted().toEpochMilli());
        upsert.executeUpdate();
    }

    // ---- insert

    List<InsertResult> insert(ConnectionSlot slot, List<NewTask> tasks, Effects effects) throws SQLException {
        boolean[] created = dialect.insertTasks(slot, pool, tasks);
        List<String> existing = new ArrayList<>();
        for (int i = 0; i < tasks.size(); i++) {
            if (!created[i]) {
                existing.add(tasks.get(i).id());
            } else {
                effects.tasksAvailable = true;
            }
        }
        Map<String, TaskState> states = existing.isEmpty() ? Map.of() : statesOf(slot, existing);
        List<InsertResult> results = new ArrayList<>(tasks.size());
        for (int i = 0; i < tasks.size(); i++) {
            String id = tasks.get(i).id();
            results.add(new InsertResult(id, created[i], created[i] ? TaskState.QUEUED
                    : states.getOrDefault(id, TaskState.QUEUED)));
        }
        return results;
    }

    private Map<String, TaskState> statesOf(ConnectionSlot slot, List<String> ids) throws SQLException {
        Map<String, TaskState> states = new HashMap<>();
        String list = StoreJson.stringList(ids);
        PreparedStatement hot = slot.prepare("SELECT id, state, attempt FROM " + t.task() + " WHERE pool = ? AND "
                + dialect.inJsonArray("id"));
        hot.setString(1, pool);
        hot.setString(2, list);
        try (ResultSet rows = hot.executeQuery()) {
            while (rows.next()) {
                String state = rows.getString(2);
                states.put(rows.getString(1), state.equals("RUNNING") ? TaskState.RUNNING
                        : state.equals("SCHEDULED") ? (rows.getInt(3) > 0 ? TaskState.RETRY_WAIT : TaskState.SCHEDULED)
                        : TaskState.QUEUED);
            }
        }
        PreparedStatement ended = slot.prepare("SELECT id, state FROM " + t.ended() + " WHERE pool = ? AND "
                + dialect.inJsonArray("id"));
        ended.setString(1, pool);
        ended.setString(2, list);
        try (ResultSet rows = ended.executeQuery()) {
            while (rows.next()) {
                states.putIfAbsent(rows.getString(1), TaskState.valueOf(rows.getString(2)));
            }
        }
        return states;
    }

    // ---- claim

    ClaimResult claim(ConnectionSlot slot, int max, ServedWork served, Instant now) throws SQLException {
        long nowMillis = now.toEpochMilli();
        // Delayed and retry-waiting tasks that are due join the claimable rows.
        PreparedStatement promote = slot.prepare("WITH due AS (SELECT seq FROM " + t.task() + " WHERE pool = ? "
                + "AND state = 'SCHEDULED' AND not_before <= ? ORDER BY not_before LIMIT " + STEP
                + dialect.skipLocked() + ") UPDATE " + t.task() + " SET state = 'QUEUED' "
                + "WHERE seq IN (SELECT seq FROM due)");
        promote.setString(1, pool);
        promote.setLong(2, nowMillis);
        promote.executeUpdate();

        List<String> filterValues = new ArrayList<>();
        String filter = filter(served, filterValues);
        PreparedStatement claim = slot.prepare(dialect.claimSql(filter));
        int p = 1;
        claim.setString(p++, pool);
        claim.setLong(p++, nowMillis);
        for (String value : filterValues) {
            claim.setString(p++, value);
        }
        claim.setInt(p++, max);
        long token = random.nextLong();
        long expires = now.plus(settings.leaseTimeout()).toEpochMilli();
        claim.setString(p++, host.name());
        claim.setLong(p++, token);
        claim.setLong(p++, expires);
        claim.setLong(p, nowMillis);
        List<ClaimedTask> tasks = new ArrayList<>();
        try (ResultSet rows = claim.executeQuery()) {
            while (rows.next()) {
                tasks.add(new ClaimedTask(new LeaseRef(rows.getString("id"), rows.getLong("seq"),
                        rows.getInt("attempt"), token), rows.getString("type"),
                        StoreJson.stringSet(rows.getString("caps")),
                        rows.getString("payload"), rows.getInt("priority"), rows.getLong("rank"),
                        Rows.millis(rows, "timeout_ms"), StoreJson.retryPolicy(rows.getString("retry_policy")),
                        rows.getString("affinity_key"), Rows.instant(rows, "submitted_at"),
                        Instant.ofEpochMilli(expires)));
            }
        }
        tasks.sort(Comparator.comparingLong(ClaimedTask::rank).thenComparingLong(ClaimedTask::sequence));
        Optional<Instant> nextDue = Optional.empty();
        if (tasks.size() < max) {
            PreparedStatement next = slot.prepare("SELECT MIN(not_before) AS next_due FROM " + t.task()
                    + " WHERE pool = ? AND state = 'SCHEDULED'");
            next.setString(1, pool);
            try (ResultSet rows = next.executeQuery()) {
                if (rows.next()) {
                    nextDue = Optional.ofNullable(Rows.instant(rows, "next_due"));
                }
            }
        }
        return new ClaimResult(tasks, nextDue);
    }

    /** The claim's WHERE clause for what the host serves; its parameters go to {@code values}. */
    private String filter(ServedWork served, List<String> values) {
        if (served.any()) {
            return "1 = 1";
        }
        List<String> alternatives = new ArrayList<>();
        for (ServedWork.Group group : served.groups()) {
            String types = "1 = 1";
            if (!group.types().isEmpty()) {
                types = dialect.inJsonArray("type");
                values.add(StoreJson.stringList(group.types().stream().sorted().toList()));
            }
            String caps = "caps IS NULL";
            if (!group.capabilities().isEmpty()) {
                caps = dialect.capabilitiesWithin("caps");
                values.add(StoreJson.stringList(group.capabilities().stream().sorted().toList()));
            }
            alternatives.add("(" + types + " AND " + caps + ")");
        }
        return String.join(" OR ", alternatives);
    }

    // ---- renew

    RenewResult renew(ConnectionSlot slot, Instant now, List<LeaseRef> held) throws SQLException {
        long expires = now.plus(settings.leaseTimeout()).toEpochMilli();
        List<LeaseRef> lost = new ArrayList<>();
        if (!held.isEmpty()) {
            // Only the attempts the engine holds: a lease it does not know of (a claim whose answer it never got)
            // is left to expire and be rescued, not kept alive forever.
            PreparedStatement extend = slot.prepare("UPDATE " + t.task() + " SET lease_expires = ? WHERE "
                    + FENCE + " AND lease_owner = ?");
            for (LeaseRef lease : held) {
                extend.setLong(1, expires);
                int p = bindFence(extend, 2, pool, lease);
                extend.setString(p, host.name());
                extend.addBatch();
            }
            boolean[] extended = Dialect.changed(slot.executeBatch(extend));
            for (int i = 0; i < held.size(); i++) {
                if (!extended[i]) {
                    lost.add(held.get(i));
                }
            }
        }
        List<LeaseRef> cancel = new ArrayList<>();
        if (held.size() > lost.size()) {
            Map<String, LeaseRef> byId = new HashMap<>();
            held.forEach(lease -> byId.put(lease.taskId(), lease));
            PreparedStatement cancels = slot.prepare("SELECT id, seq, attempt, lease_token FROM " + t.task()
                    + " WHERE pool = ? AND state = 'RUNNING' AND lease_owner = ? AND cancel_requested = TRUE");
            cancels.setString(1, pool);
            cancels.setString(2, host.name());
            try (ResultSet rows = cancels.executeQuery()) {
                while (rows.next()) {
                    LeaseRef lease = new LeaseRef(rows.getString(1), rows.getLong(2), rows.getInt(3),
                            rows.getLong(4));
                    if (lease.equals(byId.get(lease.taskId()))) {
                        cancel.add(lease);
                    }
                }
            }
        }
        PreparedStatement seen = slot.prepare("UPDATE " + t.host() + " SET last_seen = ?, stopped_at = NULL "
                + "WHERE pool = ? AND name = ?");
        seen.setLong(1, now.toEpochMilli());
        seen.setString(2, pool);
        seen.setString(3, host.name());
        if (seen.executeUpdate() == 0) {
            registerHost(slot, now); // purged while this host was silent for longer than the retention
        }
        return new RenewResult(lost, cancel);
    }

    // ---- record

    /**
     * Records attempt ends, each fenced by its lease; {@code hosts} names the host of each attempt (this host's
     * own answers, or the lost host for a rescue).
     */
    List<RecordOutcome> record(ConnectionSlot slot, List<AttemptEnd> ends, List<String> hosts, Effects effects)
            throws SQLException {
        RecordOutcome[] outcomes = new RecordOutcome[ends.size()];
        Map<LeaseRef, Integer> first = new LinkedHashMap<>();
        List<Integer> retries = new ArrayList<>();
        List<Integer> terminal = new ArrayList<>();
        for (int i = 0; i < ends.size(); i++) {
            if (first.putIfAbsent(ends.get(i).lease(), i) != null) {
                continue; // the same end twice in one batch: answered with the first one's outcome below
            }
            (ends.get(i).isRetry() ? retries : terminal).add(i);
        }
        Set<Integer> cancelledInstead = new HashSet<>();
        if (!retries.isEmpty()) {
            PreparedStatement requeue = slot.prepare("UPDATE " + t.task() + " SET state = ?, not_before = ?, "
                    + "lease_owner = NULL, lease_token = NULL, lease_expires = NULL, claimed_at = NULL "
                    + "WHERE " + FENCE + " AND cancel_requested = FALSE");
            for (int i : retries) {
                AttemptEnd end = ends.get(i);
                requeue.setString(1, end.retryAt().isAfter(end.endedAt()) ? "SCHEDULED" : "QUEUED");
                requeue.setLong(2, end.retryAt().toEpochMilli());
                bindFence(requeue, 3, pool, end.lease());
                requeue.addBatch();
            }
            boolean[] requeued = Dialect.changed(slot.executeBatch(requeue));
            for (int k = 0; k < retries.size(); k++) {
                if (requeued[k]) {
                    outcomes[retries.get(k)] = RecordOutcome.APPLIED;
                    effects.tasksAvailable = true;
                } else {
                    cancelledInstead.add(retries.get(k)); // a cancel was requested, or the fence failed
                }
            }
        }
        List<Integer> toEnd = new ArrayList<>(terminal);
        toEnd.addAll(cancelledInstead);
        if (!toEnd.isEmpty()) {
            List<Dialect.EndedRow> rows = new ArrayList<>(toEnd.size());
            for (int i : toEnd) {
                rows.add(endedRow(ends.get(i), hosts.get(i), cancelledInstead.contains(i)));
            }
            boolean[] moved = dialect.endTasks(slot, pool, rows);
            for (int k = 0; k < toEnd.size(); k++) {
                int i = toEnd.get(k);
                if (moved[k]) {
                    outcomes[i] = cancelledInstead.contains(i) ? RecordOutcome.CANCELLED : RecordOutcome.APPLIED;
                    effects.ended.add(ends.get(i).lease().taskId());
                }
            }
        }
        for (int i : first.values()) {
            if (outcomes[i] == null) {
                outcomes[i] = replayed(slot, ends.get(i));
            }
        }
        insertAttempts(slot, ends, hosts, outcomes, first.values());
        for (int i = 0; i < ends.size(); i++) {
            if (outcomes[i] == null) {
                outcomes[i] = outcomes[first.get(ends.get(i).lease())];
            }
        }
        if (!effects.ended.isEmpty()) {
            notifyEnded(effects);
        }
        return List.of(outcomes);
    }

    private Dialect.EndedRow endedRow(AttemptEnd end, String attemptHost, boolean cancelledInstead) {
        TaskState state = cancelledInstead ? TaskState.CANCELLED : end.state();
        String reason = state == TaskState.SUCCEEDED ? null
                : state == TaskState.CANCELLED ? FailureReason.CANCELLED.name() : end.failure().reason().name();
        String message = cancelledInstead ? "cancelled; its attempt " + end.lease().attempt() + " had failed: "
                + end.failure().reason() : end.message();
        Duration retention = state == TaskState.DEAD_LETTERED ? settings.deadLetterRetention() : settings.retention();
        return new Dialect.EndedRow(end.lease(), state.name(),
                end.resultJson(), reason, message, attemptHost, end.workerId(), end.workerPid(),
                end.duration().toMillis(), end.endedAt().toEpochMilli(), end.endedAt().plus(retention).toEpochMilli());
    }

    /** An end the fence refused: was it already recorded (a repeated call), or is it a late answer? */
    private RecordOutcome replayed(ConnectionSlot slot, AttemptEnd end) throws SQLException {
        PreparedStatement ended = slot.prepare("SELECT state FROM " + t.ended()
                + " WHERE pool = ? AND id = ? AND attempt = ? AND final_token = ?");
        ended.setString(1, pool);
        ended.setString(2, end.lease().taskId());
        ended.setInt(3, end.lease().attempt());
        ended.setLong(4, end.lease().token());
        try (ResultSet rows = ended.executeQuery()) {
            if (rows.next()) {
                return end.isRetry() && rows.getString(1).equals(TaskState.CANCELLED.name())
                        ? RecordOutcome.CANCELLED : RecordOutcome.APPLIED;
            }
        }
        if (end.isRetry()) {
            PreparedStatement attempt = slot.prepare("SELECT 1 FROM " + t.attempt()
                    + " WHERE pool = ? AND task_id = ? AND attempt = ? AND lease_token = ?");
            attempt.setString(1, pool);
            attempt.setString(2, end.lease().taskId());
            attempt.setInt(3, end.lease().attempt());
            attempt.setLong(4, end.lease().token());
            try (ResultSet rows = attempt.executeQuery()) {
                if (rows.next()) {
                    return RecordOutcome.APPLIED;
                }
            }
        }
        return RecordOutcome.FENCED;
    }

    private void insertAttempts(ConnectionSlot slot, List<AttemptEnd> ends, List<String> hosts,
                                RecordOutcome[] outcomes, Iterable<Integer> indexes) throws SQLException {
        PreparedStatement insert = null;
        for (int i : indexes) {
            AttemptEnd end = ends.get(i);
            AttemptRecord failure = end.failure();
            if (failure == null || outcomes[i] == RecordOutcome.FENCED) {
                continue;
            }
            if (insert == null) {
                insert = slot.prepare("INSERT INTO " + t.attempt() + " (pool, task_id, attempt, lease_token, host, "
                        + "worker_id, worker_pid, reason, detail, exit_code, signal, duration_ms, peak_rss, "
                        + "output_tail, error_class, error_message, error_stack, ended_at) "
                        + "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                        + "ON CONFLICT (pool, task_id, attempt) DO NOTHING");
            }
            int p = 1;
            insert.setString(p++, pool);
            insert.setString(p++, end.lease().taskId());
            insert.setInt(p++, end.lease().attempt());
            insert.setLong(p++, end.lease().token());
            insert.setString(p++, hosts.get(i));
            insert.setString(p++, failure.workerId());
            insert.setLong(p++, failure.workerPid());
            insert.setString(p++, failure.reason().name());
            insert.setString(p++, failure.detail());
            Rows.setInt(insert, p++, failure.exitCode());
            Rows.setInt(insert, p++, failure.signal());
            insert.setLong(p++, failure.duration().toMillis());
            insert.setLong(p++, failure.peakRssBytes());
            insert.setString(p++, failure.stderrTail().isEmpty() ? null : StoreJson.stringList(failure.stderrTail()));
            insert.setString(p++, failure.remoteError() == null ? null : failure.remoteError().className());
            insert.setString(p++, failure.remoteError() == null ? null : failure.remoteError().message());
            insert.setString(p++, failure.remoteError() == null ? null : failure.remoteError().stack());
            insert.setLong(p, end.endedAt().toEpochMilli());
            insert.addBatch();
        }
        if (insert != null) {
            slot.executeBatch(insert);
        }
    }

    /** Tells other hosts which tasks ended, in as few notifications as fit. */
    void notifyEnded(Effects effects) {
        if (!dialect.notifies()) {
            return;
        }
        StringBuilder payload = new StringBuilder();
        for (String id : effects.ended) {
            if (payload.length() > 0 && payload.length() + id.length() + 1 > MAX_PAYLOAD) {
                effects.notifications.add(payload.toString());
                payload.setLength(0);
            }
            if (payload.length() == 0) {
                payload.append("e ").append(pool);
            }
            payload.append(' ').append(id);
        }
        effects.notifications.add(payload.toString());
    }

}
