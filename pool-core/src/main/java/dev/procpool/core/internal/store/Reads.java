package dev.procpool.core.internal.store;

import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The store's reads, on its own long-lived connection (readers never wait for the writer: WAL in SQLite, MVCC in
 * PostgreSQL). Thread-safe: one reader at a time.
 */
final class Reads implements AutoCloseable {
    private final ReentrantLock lock = new ReentrantLock();
    private final ConnectionSlot slot;
    private final Dialect dialect;
    private final Tables t;
    private final String pool;
    private long dataVersion = Long.MIN_VALUE;

    Reads(ConnectionSlot slot, Dialect dialect, String pool) {
        this.slot = slot;
        this.dialect = dialect;
        this.t = dialect.tables;
        this.pool = pool;
    }

    @FunctionalInterface
    private interface Body<R> {
        R run() throws SQLException;
    }

    private <R> R read(String doing, Body<R> body) {
        lock.lock();
        try {
            return body.run();
        } catch (SQLException e) {
            throw slot.failure(doing, e);
        } finally {
            lock.unlock();
        }
    }

    Optional<StoredTask> find(String id) {
        return read("finding task " + id, () -> {
            // A task moves between the tables in one transaction; the two lookups are not one snapshot, so a task
            // redriven between them is missed once: look again.
            for (int look = 0; look < 2; look++) {
                Optional<StoredTask> task = hot(id);
                if (task.isEmpty()) {
                    task = ended(id);
                }
                if (task.isPresent()) {
                    return Optional.of(task.get().withAttempts(attempts(id)));
                }
            }
            return Optional.empty();
        });
    }

    /** The ended task with its attempts, if it has ended. */
    Optional<StoredTask> findEnded(String id) {
        return read("finding ended task " + id, () -> {
            Optional<StoredTask> task = ended(id);
            return task.isPresent() ? Optional.of(task.get().withAttempts(attempts(id))) : task;
        });
    }

    /** Those of the ids whose task has ended. */
    List<String> endedAmong(Collection<String> ids) {
        return read("looking for ended tasks", () -> {
            PreparedStatement select = slot.prepare("SELECT id FROM " + t.ended() + " WHERE pool = ? AND "
                    + dialect.inJsonArray("id"));
            select.setString(1, pool);
            select.setString(2, StoreJson.stringList(List.copyOf(ids)));
            List<String> ended = new ArrayList<>();
            try (ResultSet rows = select.executeQuery()) {
                while (rows.next()) {
                    ended.add(rows.getString(1));
                }
            }
            return ended;
        });
    }

    List<StoredTask> deadLetters(int offset, int limit) {
        return read("listing dead letters", () -> {
            PreparedStatement select = slot.prepare("SELECT " + Rows.ENDED_READ_COLUMNS + " FROM " + t.ended()
                    + " WHERE pool = ? AND state = 'DEAD_LETTERED' ORDER BY ended_at, id LIMIT ? OFFSET ?");
            select.setString(1, pool);
            select.setInt(2, limit);
            select.setInt(3, offset);
            List<StoredTask> tasks = new ArrayList<>();
            try (ResultSet rows = select.executeQuery()) {
                while (rows.next()) {
                    tasks.add(Rows.endedTask(rows));
                }
            }
            List<StoredTask> withAttempts = new ArrayList<>(tasks.size());
            for (StoredTask task : tasks) {
                withAttempts.add(task.withAttempts(attempts(task.id())));
            }
            return withAttempts;
        });
    }

    int deadLetterCount() {
        return read("counting dead letters", () -> {
            PreparedStatement count = slot.prepare("SELECT COUNT(*) FROM " + t.ended()
                    + " WHERE pool = ? AND state = 'DEAD_LETTERED'");
            count.setString(1, pool);
            try (ResultSet rows = count.executeQuery()) {
                rows.next();
                return rows.getInt(1);
            }
        });
    }

    /** Tasks waiting in the store: queued, delayed or waiting to be retried (not running). */
    long waitingCount() {
        return read("counting waiting tasks", () -> {
            PreparedStatement count = slot.prepare("SELECT COUNT(*) FROM " + t.task()
                    + " WHERE pool = ? AND state <> 'RUNNING'");
            count.setString(1, pool);
            try (ResultSet rows = count.executeQuery()) {
                rows.next();
                return rows.getLong(1);
            }
        });
    }

    List<HostRecord> hosts() {
        return read("listing hosts", () -> {
            PreparedStatement select = slot.prepare("SELECT name, machine, pid, started_at, last_seen, stopped_at "
                    + "FROM " + t.host() + " WHERE pool = ? ORDER BY started_at, name");
            select.setString(1, pool);
            List<HostRecord> hosts = new ArrayList<>();
            try (ResultSet rows = select.executeQuery()) {
                while (rows.next()) {
                    hosts.add(new HostRecord(rows.getString("name"), rows.getString("machine"), rows.getLong("pid"),
                            Rows.instant(rows, "started_at"), Rows.instant(rows, "last_seen"),
                            Rows.instant(rows, "stopped_at")));
                }
            }
            return hosts;
        });
    }

    /**
     * Whether a host of the pool other than {@code me} was seen alive at or after {@code since}: only such a host can
     * end a task this host watches (the ends this host records, its rescues included, reach its watchers directly).
     */
    boolean othersSeenSince(String me, Instant since) {
        return read("looking for other hosts", () -> {
            PreparedStatement select = slot.prepare("SELECT 1 FROM " + t.host() + " WHERE pool = ? AND name <> ? "
                    + "AND last_seen >= ? LIMIT 1");
            select.setString(1, pool);
            select.setString(2, me);
            select.setLong(3, since.toEpochMilli());
            try (ResultSet rows = select.executeQuery()) {
                return rows.next();
            }
        });
    }

    /**
     * SQLite only: whether another connection committed since the last call ({@code PRAGMA data_version}), a
     * cheap test that spares polls while the file is quiet.
     */
    boolean changedSinceLastLook() {
        return read("polling the store", () -> {
            try (PreparedStatement pragma = slot.get().prepareStatement("PRAGMA data_version");
                 ResultSet rows = pragma.executeQuery()) {
                rows.next();
                long version = rows.getLong(1);
                boolean changed = version != dataVersion;
                dataVersion = version;
                return changed;
            }
        });
    }

    private Optional<StoredTask> hot(String id) throws SQLException {
        PreparedStatement select = slot.prepare("SELECT " + Rows.HOT_COLUMNS + " FROM " + t.task()
                + " WHERE pool = ? AND id = ?");
        select.setString(1, pool);
        select.setString(2, id);
        try (ResultSet rows = select.executeQuery()) {
            return rows.next() ? Optional.of(Rows.hotTask(rows)) : Optional.empty();
        }
    }

    private Optional<StoredTask> ended(String id) throws SQLException {
        PreparedStatement select = slot.prepare("SELECT " + Rows.ENDED_READ_COLUMNS + " FROM " + t.ended()
                + " WHERE pool = ? AND id = ?");
        select.setString(1, pool);
        select.setString(2, id);
        try (ResultSet rows = select.executeQuery()) {
            return rows.next() ? Optional.of(Rows.endedTask(rows)) : Optional.empty();
        }
    }

    private List<StoredAttempt> attempts(String id) throws SQLException {
        PreparedStatement select = slot.prepare("SELECT " + Rows.ATTEMPT_COLUMNS + " FROM " + t.attempt()
                + " WHERE pool = ? AND task_id = ? ORDER BY attempt");
        select.setString(1, pool);
        select.setString(2, id);
        List<StoredAttempt> attempts = new ArrayList<>();
        try (ResultSet rows = select.executeQuery()) {
            while (rows.next()) {
                attempts.add(Rows.attempt(rows));
            }
        }
        return attempts;
    }

    @Override
    public void close() {
        lock.lock();
        try {
            slot.close();
        } finally {
            lock.unlock();
        }
    }
}
