package dev.procpool.core.internal.engine;

import dev.procpool.core.internal.Loggers;
import org.slf4j.Logger;

import java.util.concurrent.ThreadFactory;

/** The pool's only source of threads: daemon threads named {@code procpool-<pool>-<role>}. */
final class PoolThreads implements ThreadFactory {
    private static final Logger LOG = Loggers.pool();

    private final String prefix;

    PoolThreads(String poolName) {
        this.prefix = "procpool-" + poolName + "-";
    }

    @Override
    public Thread newThread(Runnable runnable) {
        Thread thread = new Thread(runnable, prefix);
        thread.setDaemon(true);
        thread.setUncaughtExceptionHandler((t, e) -> LOG.error("procpool thread {} failed", t.getName(), e));
        return thread;
    }

    /** A thread with the given role in its name. */
    Thread newThread(String role, Runnable runnable) {
        Thread thread = newThread(runnable);
        thread.setName(prefix + role);
        return thread;
    }
}
