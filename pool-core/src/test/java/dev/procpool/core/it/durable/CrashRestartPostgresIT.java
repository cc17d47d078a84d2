package dev.procpool.core.it.durable;

import dev.procpool.core.internal.store.EmbeddedPg;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/** {@link CrashRestartContract} on a real PostgreSQL server, fresh tables per test. */
class CrashRestartPostgresIT extends CrashRestartContract {
    static EmbeddedPg pg;

    @BeforeAll
    static void startServer() {
        pg = EmbeddedPg.start();
    }

    @AfterAll
    static void stopServer() throws Exception {
        pg.close(); // also checks that no server process is left
    }

    @Override
    StoreSite site() {
        return StoreSite.postgres(pg);
    }
}
