package dev.procpool.core.internal.store;

import java.sql.Connection;
import java.sql.DriverManager;

/**
 * Another process that takes a SQLite file's write lock and keeps it until its stdin ends, for the test of a store
 * whose writes wait on another process.
 */
public final class SqliteLockHolder {
    public static void main(String[] args) throws Exception {
        try (Connection connection = DriverManager.getConnection("jdbc:sqlite:" + args[0])) {
            Dialect.execute(connection, "BEGIN IMMEDIATE");
            System.out.println("LOCKED");
            System.out.flush();
            while (System.in.read() >= 0) {
                // hold the lock until stdin ends
            }
            Dialect.execute(connection, "ROLLBACK");
        }
    }
}
