package dev.procpool.core.it.durable;

/** {@link CrashRestartContract} on a SQLite file shared by the two host processes. */
class CrashRestartSqliteIT extends CrashRestartContract {
    @Override
    StoreSite site() {
        return StoreSite.sqlite(dir);
    }
}
