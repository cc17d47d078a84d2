package dev.procpool.core.internal.store;

import dev.procpool.ProcPoolException;

/**
 * The task store cannot be reached or cannot write: the connection dropped, the database is restarting or refuses
 * connections, a SQLite file is locked by another process beyond the busy timeout, or the disk is full. Whatever
 * was being written in that call was rolled back as a whole (or, when the connection died during the commit, may
 * have committed as a whole); every write of the store is idempotent, so the caller may simply repeat it once the
 * store is back. The store itself reconnects on a later call, with backoff; no new instance is needed.
 */
public final class StoreUnavailableException extends ProcPoolException {
    private static final long serialVersionUID = 1L;

    public StoreUnavailableException(String message, Throwable cause) {
        super(message, cause);
    }
}
