package dev.procpool.core.internal.process;

import dev.procpool.core.internal.Loggers;
import org.slf4j.Logger;

import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * Records the descendants of every live worker twice a second, so that a child that leaves the worker's group and
 * environment can still be killed after its parent is gone (it is then no one's descendant). One thread serves the
 * workers of every pool in this JVM because one reading of {@code /proc} serves them all; it runs only while there
 * are workers, and is a daemon.
 */
final class TreeRecorder {
    private static final Logger LOG = Loggers.pool();
    static final long PERIOD_NANOS = TimeUnit.MILLISECONDS.toNanos(500);

    private static final Set<ProcessTree> LIVE = ConcurrentHashMap.newKeySet();
    private static Thread thread; // guarded by TreeRecorder.class

    private TreeRecorder() {
    }

    static void add(ProcessTree tree) {
        LIVE.add(tree);
        synchronized (TreeRecorder.class) {
            if (thread == null) {
                thread = new Thread(TreeRecorder::run, "procpool-process-trees");
                thread.setDaemon(true);
                thread.start();
            }
        }
    }

    static void remove(ProcessTree tree) {
        LIVE.remove(tree);
    }

    private static void run() {
        while (true) {
            LockSupport.parkNanos(PERIOD_NANOS);
            synchronized (TreeRecorder.class) {
                if (LIVE.isEmpty()) {
                    thread = null; // the next worker starts a new thread
                    return;
                }
            }
            try {
                List<ProcStat> table = ProcFs.snapshot();
                for (ProcessTree tree : LIVE) {
                    tree.record(table);
                }
            } catch (RuntimeException e) {
                LOG.warn("procpool: recording the child processes of workers failed", e);
            }
        }
    }
}
