package dev.procpool.core.internal.store;


import java.sql.Connection;
import java.sql.SQLException;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The store contract on a real PostgreSQL server, one for the class; fresh tables per test. */
class PostgresTaskStoreIT extends StoreTestBase implements DurableStoreContract, StoreConcurrencyContract {
    @RegisterExtension
    static final EmbeddedPg pg = EmbeddedPg.perTestClass();

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
