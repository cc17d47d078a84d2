package dev.procpool.core.it.durable;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;

/** {@link FencingContract} on a SQLite file shared by the two host processes. */
class FencingSqliteIT extends FencingContract {
    @Override
    StoreSite site() {
        return StoreSite.sqlite(dir);
    }

    /**
     * SIGSTOP, but never while the host is inside a write: a SQLite writer stopped there keeps the file's write
     * lock, and every other process waits for it (the known limit of a file shared by processes).
     */
    @Override
    void stop(HostProcess host, StoreSite site) {
        host.stopWhen("the host stopped outside a write", Duration.ofSeconds(30), () -> {
            try (Connection c = site.connect(); Statement s = c.createStatement()) {
                s.execute("PRAGMA busy_timeout = 0");
                s.execute("BEGIN IMMEDIATE");
                s.execute("ROLLBACK");
                return true;
            } catch (SQLException busy) {
                return false; // it holds the write lock
            }
        });
    }
}
