package dev.procpool.core.internal;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The logger names a user configures: what the pool decides and does ({@value #POOL}), its durable task store
 * ({@value #STORE}), and what workers write to stderr or log ({@value #WORKER}). Stable names instead of class
 * names, which move between releases.
 */
public final class Loggers {
    /** The pool: workers started, stopped and replaced, tasks retried, health, shutdown. */
    public static final String POOL = "dev.procpool.pool";
    /** The durable task store: connections, leases, rescues, fenced answers, housekeeping. */
    public static final String STORE = "dev.procpool.store";
    /** What workers write (stderr lines and log frames), one event per line, with MDC keys. */
    public static final String WORKER = "dev.procpool.worker";

    private Loggers() {
    }

    /** {@return the pool's logger} */
    public static Logger pool() {
        return LoggerFactory.getLogger(POOL);
    }

    /** {@return the task store's logger} */
    public static Logger store() {
        return LoggerFactory.getLogger(STORE);
    }
}
