package dev.procpool.core.internal.store;

import dev.procpool.AttemptRecord;
import dev.procpool.FailureReason;
import dev.procpool.TaskState;
import dev.procpool.core.internal.store.Writes.Effects;

import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

import static dev.procpool.core.internal.store.Writes.STEP;

/**
 * The store's rarer write transactions: hosts coming and going, the rescue of lost attempts, cancels, dead letters
 * and the retention purge. Run on the writer thread like {@link Writes}, whose recording the rescue reuses.
 */
final class Upkeep {
    private final Writes writes;
    private final Dialect dialect;
    private final Tables t;
    private final StoreSettings settings;
    private final String pool;
    private final HostIdentity host;

    Upkeep(Writes writes, Dialect dialect, String pool, HostIdentity host) {
        this.writes = writes;
        this.dialect = dialect;
        this.t = dialect.tables;
        this.settings = dialect.settings;
        this.pool = pool;
        this.host = host;
    }

    // ---- hosts

    /** At close: this host is stopped, and what it still holds may be rescued at once. */
    void release(ConnectionSlot slot, Instant now) throws SQLException {
        PreparedStatement expire = slot.prepare("UPDATE " + t.task() + " SET lease_expires = ? "
                + "WHERE pool = ? AND state = 'RUNNING' AND lease_owner = ?");
        expire.setLong(1, now.toEpochMilli() - 1);
        expire.setString(2, pool);
        expire.setString(3, host.name());
        expire.executeUpdate();
        PreparedStatement stop = slot.prepare("UPDATE " + t.host() + " SET stopped_at = ? WHERE pool = ? AND name = ?");
        stop.setLong(1, now.toEpochMilli());
        stop.setString(2, pool);
        stop.setString(3, host.name());
        stop.executeUpdate();
    }

    // ---- rescue

    List<RescuedAttempt> rescue(ConnectionSlot slot, Instant now, RescueDecider decider, Effects effects)
            throws SQLException {
        long nowMillis = now.toEpochMilli();
        expireDeadLocalHosts(slot, nowMillis);
        PreparedStatement expired = slot.prepare("SELECT id, seq, type, attempt, lease_token, lease_owner, claimed_at, "
                + "lease_expires, retry_policy, cancel_requested FROM " + t.task() + " WHERE pool = ? "
                + "AND state = 'RUNNING' AND lease_expires < ? AND (lease_owner <> ? OR lease_expires < ?) "
                + "ORDER BY lease_expires LIMIT " + STEP + dialect.skipLocked());
        expired.setString(1, pool);
        expired.setLong(2, nowMillis);
        // this host's own leases only when expired twice over: it is alive, and a renewal that came late (a busy
        // machine) extends a lease whose token still matches; one the engine never learned of is rescued later
        expired.setString(3, host.name());
        expired.setLong(4, nowMillis - settings.leaseTimeout().toMillis());
        List<AttemptEnd> ends = new ArrayList<>();
        List<String> owners = new ArrayList<>();
        try (ResultSet rows = expired.executeQuery()) {
            while (rows.next()) {
                LeaseRef lease = new LeaseRef(rows.getString("id"), rows.getLong("seq"), rows.getInt("attempt"),
                        rows.getLong("lease_token"));
                String owner = rows.getString("lease_owner");
                Instant claimedAt = Rows.instant(rows, "claimed_at");
                Duration ran = claimedAt == null ? Duration.ZERO : Duration.ofMillis(Math.max(0,
                        nowMillis - claimedAt.toEpochMilli()));
                AttemptRecord failure = new AttemptRecord(lease.attempt(), "", 0, FailureReason.HOST_LOST,
                        "host " + owner + " stopped renewing its lease (expired at "
                                + Instant.ofEpochMilli(rows.getLong("lease_expires")) + "); rescued by " + host.name(),
                        null, null, ran, 0, List.of(), null);
                AttemptEnd end;
                if (rows.getBoolean("cancel_requested")) {
                    end = AttemptEnd.ended(lease, TaskState.CANCELLED, failure, "cancelled; its host " + owner
                            + " was lost", now);
                } else {
                    RescueDecider.Decision decision = decide(decider, new ExpiredAttempt(lease, rows.getString("type"),
                            StoreJson.retryPolicy(rows.getString("retry_policy")), owner, claimedAt), now);
                    end = decision.retryAt() != null ? AttemptEnd.retry(lease, failure, decision.retryAt(), now)
                            : AttemptEnd.ended(lease, decision.state(), failure, decision.message(), now);
                }
                ends.add(end);
                owners.add(owner);
            }
        }
        if (ends.isEmpty()) {
            return List.of();
        }
        List<RecordOutcome> outcomes = writes.record(slot, ends, owners, effects);
        List<RescuedAttempt> rescued = new ArrayList<>();
        for (int i = 0; i < ends.size(); i++) {
            if (outcomes.get(i) == RecordOutcome.FENCED) {
                continue; // answered by its host between the select and now (PostgreSQL only)
            }
            TaskState outcome = outcomes.get(i) == RecordOutcome.CANCELLED ? TaskState.CANCELLED : ends.get(i).state();
            rescued.add(new RescuedAttempt(ends.get(i).lease(), owners.get(i), outcome));
        }
        return rescued;
    }

    private static RescueDecider.Decision decide(RescueDecider decider, ExpiredAttempt attempt, Instant now) {
        try {
            return decider.decide(attempt, now);
        } catch (RuntimeException e) { // refused like a statement: only this call fails, not its batch
            throw new IllegalStateException("the rescue decider failed for task " + attempt.lease().taskId(), e);
        }
    }

    /**
     * Hosts on this machine whose process is gone (or is another process under a reused pid) have their leases
     * expired now, so they are rescued without waiting for the lease timeout.
     */
    private void expireDeadLocalHosts(ConnectionSlot slot, long nowMillis) throws SQLException {
        if (host.machine() == null) {
            return;
        }
        PreparedStatement peers = slot.prepare("SELECT name, pid, process_started FROM " + t.host()
                + " WHERE pool = ? AND machine = ? AND stopped_at IS NULL AND name <> ?");
        peers.setString(1, pool);
        peers.setString(2, host.machine());
        peers.setString(3, host.name());
        List<String> dead = new ArrayList<>();
        try (ResultSet rows = peers.executeQuery()) {
            while (rows.next()) {
                long started = rows.getLong("process_started");
                Instant processStarted = rows.wasNull() ? null : Instant.ofEpochMilli(started);
                if (!LocalProcesses.isAlive(rows.getLong("pid"), processStarted)) {
                    dead.add(rows.getString("name"));
                }
            }
        }
        for (String name : dead) {
            PreparedStatement expire = slot.prepare("UPDATE " + t.task() + " SET lease_expires = ? "
                    + "WHERE pool = ? AND state = 'RUNNING' AND lease_owner = ?");
            expire.setLong(1, nowMillis - 1);
            expire.setString(2, pool);
            expire.setString(3, name);
            expire.executeUpdate();
            PreparedStatement stop = slot.prepare("UPDATE " + t.host() + " SET stopped_at = ? "
                    + "WHERE pool = ? AND name = ?");
            stop.setLong(1, nowMillis);
            stop.setString(2, pool);
            stop.setString(3, name);
            stop.executeUpdate();
        }
    }

    // ---- cancel

    CancelResult cancel(ConnectionSlot slot, String id, Instant now, Effects effects) throws SQLException {
        PreparedStatement select = slot.prepare("SELECT state, lease_owner FROM " + t.task()
                + " WHERE pool = ? AND id = ?" + dialect.lockRows());
        select.setString(1, pool);
        select.setString(2, id);
        String state;
        String owner;
        try (ResultSet rows = select.executeQuery()) {
            if (!rows.next()) {
                return endedOrMissing(slot, id);
            }
            state = rows.getString(1);
            owner = rows.getString(2);
        }
        if (state.equals("RUNNING")) {
            PreparedStatement request = slot.prepare("UPDATE " + t.task() + " SET cancel_requested = TRUE "
                    + "WHERE pool = ? AND id = ? AND state = 'RUNNING'");
            request.setString(1, pool);
            request.setString(2, id);
            request.executeUpdate();
            if (owner.equals(host.name())) {
                effects.cancelsForMe.add(id);
            } else if (dialect.notifies()) {
                effects.notifications.add("c " + pool + " " + owner + " " + id);
            }
            return new CancelResult(CancelResult.Outcome.REQUESTED, TaskState.RUNNING, owner);
        }
        PreparedStatement copy = slot.prepare("INSERT INTO " + t.ended() + " (" + Dialect.ENDED_COLUMNS + ") "
                + "SELECT " + Dialect.TASK_COLUMNS + ", 'CANCELLED', NULL, 'CANCELLED', ?, NULL, NULL, 0, 0, ?, ?, "
                + "lease_token FROM " + t.task() + " WHERE pool = ? AND id = ? AND state <> 'RUNNING'");
        copy.setString(1, "cancelled before it ran");
        copy.setLong(2, now.toEpochMilli());
        copy.setLong(3, now.plus(settings.retention()).toEpochMilli());
        copy.setString(4, pool);
        copy.setString(5, id);
        copy.executeUpdate();
        PreparedStatement delete = slot.prepare("DELETE FROM " + t.task() + " WHERE pool = ? AND id = ? "
                + "AND state <> 'RUNNING'");
        delete.setString(1, pool);
        delete.setString(2, id);
        delete.executeUpdate();
        effects.ended.add(id);
        writes.notifyEnded(effects);
        return new CancelResult(CancelResult.Outcome.CANCELLED, TaskState.CANCELLED, null);
    }

    private CancelResult endedOrMissing(ConnectionSlot slot, String id) throws SQLException {
        PreparedStatement ended = slot.prepare("SELECT state FROM " + t.ended() + " WHERE pool = ? AND id = ?");
        ended.setString(1, pool);
        ended.setString(2, id);
        try (ResultSet rows = ended.executeQuery()) {
            return rows.next()
                    ? new CancelResult(CancelResult.Outcome.ALREADY_ENDED, TaskState.valueOf(rows.getString(1)), null)
                    : new CancelResult(CancelResult.Outcome.NOT_FOUND, null, null);
        }
    }

    // ---- dead letters and housekeeping

    boolean redrive(ConnectionSlot slot, String id, long rank, Instant now, Effects effects) throws SQLException {
        PreparedStatement lock = slot.prepare("SELECT 1 FROM " + t.ended() + " WHERE pool = ? AND id = ? "
                + "AND state = 'DEAD_LETTERED'" + dialect.lockRows());
        lock.setString(1, pool);
        lock.setString(2, id);
        try (ResultSet rows = lock.executeQuery()) {
            if (!rows.next()) {
                return false;
            }
        }
        PreparedStatement insert = slot.prepare("INSERT INTO " + t.task() + " (pool, id, type, caps, payload, "
                + "priority, rank, not_before, timeout_ms, retry_policy, affinity_key, submitted_at, state) "
                + "SELECT pool, id, type, caps, payload, priority, ?, ?, timeout_ms, retry_policy, affinity_key, ?, "
                + "'QUEUED' FROM " + t.ended() + " WHERE pool = ? AND id = ? AND state = 'DEAD_LETTERED'");
        insert.setLong(1, rank);
        insert.setLong(2, now.toEpochMilli());
        insert.setLong(3, now.toEpochMilli());
        insert.setString(4, pool);
        insert.setString(5, id);
        insert.executeUpdate();
        deleteEnded(slot, List.of(id));
        effects.tasksAvailable = true;
        return true;
    }

    /** Removes dead-lettered tasks: the given one, or every one of the pool when {@code id} is null. */
    int removeDeadLetters(ConnectionSlot slot, String id) throws SQLException {
        PreparedStatement select = slot.prepare("SELECT id FROM " + t.ended() + " WHERE pool = ? "
                + "AND state = 'DEAD_LETTERED' AND (? IS NULL OR id = ?)" + dialect.lockRows());
        select.setString(1, pool);
        select.setString(2, id);
        select.setString(3, id);
        List<String> ids = new ArrayList<>();
        try (ResultSet rows = select.executeQuery()) {
            while (rows.next()) {
                ids.add(rows.getString(1));
            }
        }
        deleteEnded(slot, ids);
        return ids.size();
    }

    /** One step of the retention purge; returns the ended tasks deleted (fewer than {@link #STEP}: done). */
    int purgeStep(ConnectionSlot slot, Instant now) throws SQLException {
        PreparedStatement select = slot.prepare("SELECT id FROM " + t.ended() + " WHERE expires_at <= ? "
                + "AND pool = ? LIMIT " + STEP + dialect.skipLocked());
        select.setLong(1, now.toEpochMilli());
        select.setString(2, pool);
        List<String> ids = new ArrayList<>();
        try (ResultSet rows = select.executeQuery()) {
            while (rows.next()) {
                ids.add(rows.getString(1));
            }
        }
        deleteEnded(slot, ids);
        if (ids.size() < STEP) {
            PreparedStatement hosts = slot.prepare("DELETE FROM " + t.host() + " WHERE pool = ? AND name <> ? "
                    + "AND COALESCE(stopped_at, last_seen) < ?");
            hosts.setString(1, pool);
            hosts.setString(2, host.name());
            hosts.setLong(3, now.minus(settings.retention()).toEpochMilli());
            hosts.executeUpdate();
        }
        return ids.size();
    }

    private void deleteEnded(ConnectionSlot slot, List<String> ids) throws SQLException {
        if (ids.isEmpty()) {
            return;
        }
        String list = StoreJson.stringList(ids);
        PreparedStatement attempts = slot.prepare("DELETE FROM " + t.attempt() + " WHERE pool = ? AND "
                + dialect.inJsonArray("task_id"));
        attempts.setString(1, pool);
        attempts.setString(2, list);
        attempts.executeUpdate();
        PreparedStatement ended = slot.prepare("DELETE FROM " + t.ended() + " WHERE pool = ? AND "
                + dialect.inJsonArray("id"));
        ended.setString(1, pool);
        ended.setString(2, list);
        ended.executeUpdate();
    }
}
