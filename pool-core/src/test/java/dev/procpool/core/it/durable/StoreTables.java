package dev.procpool.core.it.durable;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The store's tables read directly with SQL from the test JVM, as an auditor would: what the hosts wrote, without
 * going through the code under test. Each call opens its own connection.
 */
final class StoreTables {
    /** Opens a connection to the store's database. */
    @FunctionalInterface
    interface Connections {
        Connection open() throws SQLException;
    }

    /** An attempt of the attempts table (the failed ones: one row per attempt that did not succeed). */
    record Attempt(String taskId, int attempt, String host, String reason, Instant endedAt) {
    }

    private final Connections connections;
    private final String prefix;
    private final String pool;

    StoreTables(Connections connections, String prefix, String pool) {
        this.connections = connections;
        this.prefix = prefix;
        this.pool = pool;
    }

    /** A number from {@code SELECT ... FROM <prefix><table> WHERE pool = ? <and>}. */
    long number(String select, String table, String and) throws SQLException {
        try (Connection c = connections.open();
             PreparedStatement s = c.prepareStatement("SELECT " + select + " FROM " + prefix + table
                     + " WHERE pool = ? " + and)) {
            s.setString(1, pool);
            try (ResultSet rows = s.executeQuery()) {
                rows.next();
                return rows.getLong(1);
            }
        }
    }

    /** Ended tasks (one row per task, whatever its end). */
    long ended() throws SQLException {
        return number("COUNT(*)", "ended", "");
    }

    /** Tasks not ended: waiting or running. */
    long live() throws SQLException {
        return number("COUNT(*)", "task", "");
    }

    /** The ids of tasks running now, by lease owner (host name). */
    Map<String, Set<String>> runningByOwner() throws SQLException {
        Map<String, Set<String>> owners = new HashMap<>();
        try (Connection c = connections.open();
             PreparedStatement s = c.prepareStatement("SELECT id, lease_owner FROM " + prefix + "task "
                     + "WHERE pool = ? AND state = 'RUNNING'")) {
            s.setString(1, pool);
            try (ResultSet rows = s.executeQuery()) {
                while (rows.next()) {
                    owners.computeIfAbsent(rows.getString(2), o -> new HashSet<>()).add(rows.getString(1));
                }
            }
        }
        return owners;
    }

    /** Every failed attempt of the pool. */
    List<Attempt> failedAttempts() throws SQLException {
        List<Attempt> attempts = new ArrayList<>();
        try (Connection c = connections.open();
             PreparedStatement s = c.prepareStatement("SELECT task_id, attempt, host, reason, ended_at FROM "
                     + prefix + "attempt WHERE pool = ?")) {
            s.setString(1, pool);
            try (ResultSet rows = s.executeQuery()) {
                while (rows.next()) {
                    attempts.add(new Attempt(rows.getString(1), rows.getInt(2), rows.getString(3), rows.getString(4),
                            Instant.ofEpochMilli(rows.getLong(5))));
                }
            }
        }
        return attempts;
    }

    /** The host that recorded each ended task's outcome, by task id. */
    Map<String, String> finalHosts() throws SQLException {
        Map<String, String> hosts = new HashMap<>();
        try (Connection c = connections.open();
             PreparedStatement s = c.prepareStatement("SELECT id, host FROM " + prefix + "ended WHERE pool = ?")) {
            s.setString(1, pool);
            try (ResultSet rows = s.executeQuery()) {
                while (rows.next()) {
                    hosts.put(rows.getString(1), rows.getString(2));
                }
            }
        }
        return hosts;
    }

    /** The registered host names, by host pid. */
    Map<Long, String> hostNames() throws SQLException {
        Map<Long, String> names = new HashMap<>();
        try (Connection c = connections.open();
             PreparedStatement s = c.prepareStatement("SELECT pid, name FROM " + prefix + "host WHERE pool = ?")) {
            s.setString(1, pool);
            try (ResultSet rows = s.executeQuery()) {
                while (rows.next()) {
                    names.put(rows.getLong(1), rows.getString(2));
                }
            }
        }
        return names;
    }

    /** A task's row as {@code "<state> <attempt> <lease owner>"}, from the task table, else the ended one. */
    String describe(String id) throws SQLException {
        try (Connection c = connections.open();
             PreparedStatement live = c.prepareStatement("SELECT state, attempt, lease_owner FROM " + prefix + "task "
                     + "WHERE pool = ? AND id = ?");
             PreparedStatement ended = c.prepareStatement("SELECT state, attempt, host, result FROM " + prefix
                     + "ended WHERE pool = ? AND id = ?")) {
            live.setString(1, pool);
            live.setString(2, id);
            try (ResultSet rows = live.executeQuery()) {
                if (rows.next()) {
                    return rows.getString(1) + " " + rows.getInt(2) + " " + rows.getString(3);
                }
            }
            ended.setString(1, pool);
            ended.setString(2, id);
            try (ResultSet rows = ended.executeQuery()) {
                return rows.next() ? rows.getString(1) + " " + rows.getInt(2) + " " + rows.getString(3) + " "
                        + rows.getString(4) : "MISSING";
            }
        }
    }

    /** Runs a statement on the database (test set-up only). */
    void execute(String sql) throws SQLException {
        try (Connection c = connections.open(); Statement s = c.createStatement()) {
            s.execute(sql);
        }
    }
}
