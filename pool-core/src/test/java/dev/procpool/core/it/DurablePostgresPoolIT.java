package dev.procpool.core.it;

import dev.procpool.TaskStore;
import dev.procpool.core.internal.store.EmbeddedPg;
import dev.procpool.core.internal.store.UrlDataSource;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.io.IOException;
import java.net.ServerSocket;
import java.time.Duration;

/** {@link DurablePoolContract} on a real PostgreSQL server: one for the class, fresh tables per test. */
class DurablePostgresPoolIT extends DurablePoolContract {
    @RegisterExtension
    static final EmbeddedPg pg = EmbeddedPg.perTestClass();

    @Override
    TaskStore.Durable store(String prefix) {
        return TaskStore.postgres(pg.dataSource()).withTablePrefix(prefix);
    }

    @Override
    String kind() {
        return "postgresql";
    }

    @Override
    TaskStore.Durable unreachable() {
        int port;
        try (ServerSocket socket = new ServerSocket(0)) {
            port = socket.getLocalPort(); // closed again before the pool connects: nobody listens there
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        return TaskStore.postgres(new UrlDataSource("jdbc:postgresql://127.0.0.1:" + port
                + "/postgres?user=postgres&connectTimeout=2")).withNetworkTimeout(Duration.ofSeconds(2));
    }
}
