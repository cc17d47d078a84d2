package dev.procpool.core.internal.engine;

import dev.procpool.PoolConfig.JvmShutdown;
import dev.procpool.core.internal.Loggers;
import org.slf4j.Logger;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Pools not yet closed whose {@link JvmShutdown} is not {@code NONE}, and the one JVM shutdown hook, registered on
 * first use, that applies it when the JVM shuts down with them open: {@code DRAIN} closes each pool (all of them at
 * once, on a thread each, so that the longest drain bounds the wait, not their sum), {@code STOP} cancels their
 * tasks and kills their workers. A host's own hook or a container's context may close a pool at the same time:
 * {@link DefaultWorkerPool#close()} lets one caller drain and the others wait for it. (A host killed with SIGKILL
 * runs no hook; its workers exit because their stdin ends.)
 */
final class OpenPools {
    private static final Logger LOG = Loggers.pool();
    private static final Set<DefaultWorkerPool> OPEN = ConcurrentHashMap.newKeySet();
    private static volatile boolean hookInstalled;

    private OpenPools() {
    }

    static void add(DefaultWorkerPool pool) {
        if (pool.config().jvmShutdown() == JvmShutdown.NONE) {
            return; // the host manages it
        }
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
        Runtime.getRuntime().addShutdownHook(new Thread(OpenPools::atJvmShutdown, "procpool-shutdown-hook"));
        hookInstalled = true;
    }

    private static void atJvmShutdown() {
        List<Thread> drains = new ArrayList<>();
        for (DefaultWorkerPool pool : List.copyOf(OPEN)) {
            if (pool.config().jvmShutdown() == JvmShutdown.STOP) {
                LOG.info("the JVM is shutting down: stopping pool {} at once (jvmShutdown STOP)", pool.name());
                pool.killWorkersAtExit();
            } else {
                LOG.info("the JVM is shutting down: draining pool {} within {} s (jvmShutdown DRAIN)", pool.name(),
                        pool.config().shutdownTimeout().toMillis() / 1000.0);
                Thread drain = new Thread(() -> {
                    try {
                        pool.close();
                    } catch (RuntimeException e) {
                        LOG.error("closing pool {} at JVM shutdown failed", pool.name(), e);
                    }
                }, "procpool-shutdown-" + pool.name());
                drain.start();
                drains.add(drain);
            }
        }
        for (Thread drain : drains) {
            try {
                drain.join(); // each close() is bounded by its pool's shutdownTimeout and stop escalation
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }
}
