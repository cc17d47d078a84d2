package dev.procpool.core.internal.store;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;

/** The store contract on SQLite: a fresh file per test. */
class SqliteTaskStoreIT extends StoreTestBase implements DurableStoreContract, StoreConcurrencyContract {
    @TempDir
    Path folder;
    Path file;

    @BeforeEach
    void freshFile() throws Exception {
        file = java.nio.file.Files.createDirectories(folder.resolve("store")).resolve("tasks.db");
    }

    @Override
    TaskStores.Builder builder(StoreSettings settings) {
        return TaskStores.sqlite(file).settings(settings);
    }

    @Override
    public Dialect dialect(StoreSettings settings) {
        return new SqliteDialect(Tables.of(settings), settings);
    }

    @Override
    public Connection raw() throws SQLException {
        Connection connection = DriverManager.getConnection("jdbc:sqlite:" + file);
        Dialect.execute(connection, "PRAGMA busy_timeout = 10000");
        return connection;
    }
}
