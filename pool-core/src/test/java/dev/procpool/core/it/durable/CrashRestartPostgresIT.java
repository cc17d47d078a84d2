package dev.procpool.core.it.durable;

import dev.procpool.core.internal.store.EmbeddedPg;
import org.junit.jupiter.api.extension.RegisterExtension;

/** {@link CrashRestartContract} on a real PostgreSQL server, fresh tables per test. */
class CrashRestartPostgresIT extends CrashRestartContract {
    @RegisterExtension
    static final EmbeddedPg pg = EmbeddedPg.perTestClass();

    @Override
    StoreSite site() {
        return StoreSite.postgres(pg);
    }
}
