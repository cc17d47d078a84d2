package dev.procpool.core.it.durable;

import dev.procpool.core.internal.store.EmbeddedPg;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/** {@link FencingContract} on a real PostgreSQL server, fresh tables per test. */
class FencingPostgresIT extends FencingContract {
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
    StoreSite site() {
        return StoreSite.postgres(pg);
    }
}
