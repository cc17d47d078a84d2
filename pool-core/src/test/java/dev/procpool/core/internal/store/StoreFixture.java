package dev.procpool.core.internal.store;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Instant;
import java.time.temporal.ChronoUnit;

/**
 * What the contract tests need of a dialect: stores on this test's own database and tables, and a raw connection
 * to look at the rows. Implemented by {@link StoreTestBase}; the contracts are interfaces so one test class per
 * dialect runs them all against one database server.
 */
interface StoreFixture {
    /** The start of the test's time line; every {@code now} of a test is relative to it. */
    Instant T0 = Instant.now().truncatedTo(ChronoUnit.MILLIS);

    /** Settings with this test's table prefix. */
    StoreSettings.Builder settings();

    /** An open store of this test's tables for a new host named {@code name}. */
    default JdbcTaskStore open(String name) {
        return open(name, settings(), StoreEvents.NONE);
    }

    JdbcTaskStore open(String name, StoreSettings.Builder settings, StoreEvents events);

    /** An open store for exactly this host identity. */
    JdbcTaskStore open(HostIdentity host, StoreSettings.Builder settings);

    /** A store of this test's tables, not yet open. */
    JdbcTaskStore build(String name, StoreSettings.Builder settings);

    /** A connection of the test's own, to inspect and arrange rows. */
    Connection raw() throws SQLException;

    /** The name of one of this test's tables ("task", "ended", "attempt", "host", "schema_version"). */
    String table(String name);

    /** The pool name the stores use. */
    default String pool() {
        return "contract";
    }

    /** A number from a query, such as a count. */
    default long number(String sql) {
        try (Connection c = raw(); Statement s = c.createStatement(); ResultSet rows = s.executeQuery(sql)) {
            rows.next();
            return rows.getLong(1);
        } catch (SQLException e) {
            throw new IllegalStateException(sql, e);
        }
    }

    default void update(String sql) {
        try (Connection c = raw(); Statement s = c.createStatement()) {
            s.executeUpdate(sql);
        } catch (SQLException e) {
            throw new IllegalStateException(sql, e);
        }
    }

    default Instant at(long seconds) {
        return T0.plusSeconds(seconds);
    }
}
