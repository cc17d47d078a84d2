package dev.procpool.core.internal.store;

/**
 * The names of the store's tables, indexes and notification channel, from the settings' prefix and schema. Names
 * are validated identifiers, so they are safe to splice into SQL.
 *
 * @param qualifier "schema." or empty
 * @param prefix    the table prefix
 */
record Tables(String qualifier, String prefix) {
    static Tables of(StoreSettings settings) {
        return new Tables(settings.schema().map(s -> s + ".").orElse(""), settings.tablePrefix());
    }

    /** Waiting and running tasks: the hot table claims scan. */
    String task() {
        return qualifier + prefix + "task";
    }

    /** Ended tasks, until their retention passes. */
    String ended() {
        return qualifier + prefix + "ended";
    }

    /** Failed attempts with their forensics. */
    String attempt() {
        return qualifier + prefix + "attempt";
    }

    /** Hosts that opened the store. */
    String host() {
        return qualifier + prefix + "host";
    }

    /** Applied schema versions. */
    String schemaVersion() {
        return qualifier + prefix + "schema_version";
    }

    /** An index name (indexes live in their table's schema, so they are not qualified when created). */
    String index(String name) {
        return prefix + name;
    }

    /** The PostgreSQL notification channel (database-wide, so the schema is part of it), at most 63 bytes. */
    String channel() {
        String channel = qualifier.replace('.', '_') + prefix + "events";
        return channel.length() > 63 ? channel.substring(0, 63) : channel;
    }

    /** The text the advisory lock of migrations is derived from. */
    String lockName() {
        return "procpool-schema:" + qualifier + prefix;
    }
}
