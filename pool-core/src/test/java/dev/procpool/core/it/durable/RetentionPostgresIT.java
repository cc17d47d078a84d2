package dev.procpool.core.it.durable;

import dev.procpool.core.internal.store.EmbeddedPg;
import org.junit.jupiter.api.extension.RegisterExtension;

/** {@link RetentionContract} on a real PostgreSQL server, fresh tables per test. */
class RetentionPostgresIT extends RetentionContract {
    @RegisterExtension
    static final EmbeddedPg pg = EmbeddedPg.perTestClass();

    @Override
    StoreSite site() {
        return StoreSite.postgres(pg);
    }
}
