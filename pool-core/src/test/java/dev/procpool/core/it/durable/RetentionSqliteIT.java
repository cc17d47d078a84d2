package dev.procpool.core.it.durable;

/** {@link RetentionContract} on a SQLite file. */
class RetentionSqliteIT extends RetentionContract {
    @Override
    StoreSite site() {
        return StoreSite.sqlite(dir);
    }
}
