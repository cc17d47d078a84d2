package dev.procpool.core.internal.store;

import dev.procpool.Ticker;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.util.HashMap;
import java.util.Map;

/**
 * One long-lived connection of the store (the writer's, the reader's or the listener's) with its prepared
 * statements. Opened on first use; given up on a failure that leaves it unusable and opened again on a later
 * use, no sooner than a backoff after a failed open, so that a store whose database is down fails fast instead of
 * hammering it. Not thread-safe: one thread at a time.
 */
final class ConnectionSlot implements AutoCloseable {
    /** Batches with more rows than this leave their statement closed (see {@link #executeBatch}). */
    private static final int LARGE_BATCH_ROWS = 512;
    /** Opens a connection; the store's view of a {@code DataSource} or a JDBC URL. */
    @FunctionalInterface
    interface Factory {
        Connection open() throws SQLException;
    }

    private static final long MIN_BACKOFF_NANOS = 50_000_000L;
    /** A connection idle for longer is tested before use: the database may have restarted meanwhile. */
    private static final long VALIDATE_AFTER_IDLE_NANOS = 1_000_000_000L;
    private static final long MAX_BACKOFF_NANOS = 2_000_000_000L;

    private final String role;
    private final Factory factory;
    private final Dialect dialect;
    private final Ticker ticker;
    private final Map<String, PreparedStatement> statements = new HashMap<>();
    private Connection connection;
    private int failedOpens;
    private long nextOpenAt;
    private SQLException lastOpenFailure;
    private long lastUsed;

    ConnectionSlot(String role, Factory factory, Dialect dialect, Ticker ticker) {
        this.role = role;
        this.factory = factory;
        this.dialect = dialect;
        this.ticker = ticker;
    }

    /** The open connection, opening one if needed. */
    Connection get() {
        long now = ticker.read();
        if (connection != null) {
            if (now - lastUsed > VALIDATE_AFTER_IDLE_NANOS && !isValid()) {
                discard(); // found broken before anything was sent: open a new one instead of failing the call
            } else {
                lastUsed = now;
                return connection;
            }
        }
        if (failedOpens > 0 && now - nextOpenAt < 0) {
            throw new StoreUnavailableException("the task store (" + dialect.name() + ") is unreachable: opening the "
                    + role + " connection failed " + failedOpens + " time(s) in a row, next try in "
                    + (nextOpenAt - now) / 1_000_000 + " ms", lastOpenFailure);
        }
        Connection opened = null;
        try {
            opened = factory.open();
            dialect.configure(opened, role);
            connection = opened;
            lastUsed = now;
            failedOpens = 0;
            lastOpenFailure = null;
            return connection;
        } catch (SQLException e) {
            closeQuietly(opened);
            failedOpens++;
            lastOpenFailure = e;
            long backoff = Math.min(MAX_BACKOFF_NANOS, MIN_BACKOFF_NANOS << Math.min(failedOpens - 1, 10));
            nextOpenAt = now + backoff;
            throw new StoreUnavailableException("the task store (" + dialect.name() + ") is unreachable: cannot open "
                    + "the " + role + " connection: " + e.getMessage(), e);
        }
    }

    /**
     * Runs a prepared statement's batch. After a large batch the statement is closed and prepared afresh next time:
     * the SQLite driver keeps its batch buffer at the largest size it ever had and clears all of it after every
     * execution, so one 20,000-row insert would make every later one-row batch on that statement clear 20,000 rows.
     */
    int[] executeBatch(PreparedStatement statement) throws SQLException {
        int[] counts = statement.executeBatch();
        if (counts.length > LARGE_BATCH_ROWS) {
            statements.values().remove(statement);
            statement.close();
        }
        return counts;
    }

    /** A prepared statement of the open connection, prepared once per connection. */
    PreparedStatement prepare(String sql) throws SQLException {
        PreparedStatement statement = statements.get(sql);
        if (statement == null) {
            statement = get().prepareStatement(sql);
            statements.put(sql, statement);
        }
        return statement;
    }

    /**
     * Turns a failure of this connection into what the caller throws: a {@link StoreUnavailableException} (and the
     * connection given up) when the database is unreachable or the connection is broken, else an
     * {@link IllegalStateException} for a statement the database refused.
     */
    RuntimeException failure(String doing, SQLException e) {
        if (dialect.isUnavailable(e) || !isValid()) {
            discard();
            return new StoreUnavailableException("the task store (" + dialect.name() + ") is unavailable while "
                    + doing + ": " + e.getMessage(), e);
        }
        return new IllegalStateException("the task store (" + dialect.name() + ") refused " + doing + ": "
                + e.getMessage(), e);
    }

    /** Whether a connection is open and answers. */
    boolean isValid() {
        try {
            return connection != null && !connection.isClosed() && connection.isValid(2);
        } catch (SQLException e) {
            return false;
        }
    }

    /** Closes the connection (if any) without complaint; the next {@link #get()} opens a new one. */
    void discard() {
        statements.clear(); // closed with their connection
        Connection old = connection;
        connection = null;
        closeQuietly(old);
    }

    @Override
    public void close() {
        discard();
    }

    private static void closeQuietly(Connection connection) {
        if (connection != null) {
            try {
                connection.close();
            } catch (SQLException | RuntimeException e) {
                // already broken: nothing to release that the database will not release itself
            }
        }
    }
}
