package dev.procpool.core.it.durable;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;

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
    void stop(HostProcess host, StoreSite site) throws Exception {
        for (int tries = 0; tries < 100; tries++) {
            host.signal("STOP");
            try (Connection c = site.connect(); Statement s = c.createStatement()) {
                s.execute("PRAGMA busy_timeout = 0");
                s.execute("BEGIN IMMEDIATE");
                s.execute("ROLLBACK");
                return;
            } catch (SQLException busy) {
                host.signal("CONT");
                Thread.sleep(20);
            }
        }
        throw new AssertionError("the host held the write lock at every try");
    }
}
