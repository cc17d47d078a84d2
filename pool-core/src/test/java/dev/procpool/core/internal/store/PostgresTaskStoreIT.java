package dev.procpool.core.internal.store;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

import java.sql.Connection;
import java.sql.SQLException;

/** The store contract on a real PostgreSQL server, one for the class; fresh tables per test. */
class PostgresTaskStoreIT extends StoreTestBase implements DurableStoreContract, StoreConcurrencyContract {
    static EmbeddedPg pg;

    @BeforeAll
    static void startServer() {
        pg = EmbeddedPg.start();
    }

    @AfterAll
    static void stopServer() throws Exception {
        pg.close();
    }

    @Override
    TaskStores.Builder builder(StoreSettings settings) {
        return TaskStores.postgres(pg.dataSource()).settings(settings);
    }

    @Override
    public Dialect dialect(StoreSettings settings) {
        return new PostgresDialect(Tables.of(settings), settings);
    }

    @Override
    public Connection raw() throws SQLException {
        return pg.dataSource().getConnection();
    }
}
