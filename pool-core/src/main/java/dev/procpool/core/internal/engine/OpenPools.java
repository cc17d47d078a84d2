package dev.procpool.core.internal.engine;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Pools not yet closed. One JVM shutdown hook, registered on first use, kills their workers, so that a host that
 * exits without closing its pools leaves no worker behind. (A host killed with SIGKILL runs no hook; its workers
 * exit because their stdin ends.)
 */
final class OpenPools {
    private static final Set<DefaultWorkerPool> OPEN = ConcurrentHashMap.newKeySet();
    private static volatile boolean hookInstalled;

    private OpenPools() {
    }

    static void add(DefaultWorkerPool pool) {
        installHook();
        OPEN.add(pool);
    }

    static void remove(DefaultWorkerPool pool) {
        OPEN.remove(pool);
    }

    private static synchronized void installHook() {
        if (hookInstalled) {
            return;
        }
        Thread hook = new Thread(() -> OPEN.forEach(DefaultWorkerPool::killWorkersAtExit), "procpool-shutdown-hook");
        Runtime.getRuntime().addShutdownHook(hook);
        hookInstalled = true;
    }
}
