package dev.procpool.core.internal.worker;

import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.LockSupport;

/**
 * Passes the reading of stdin on to another thread only if the task that the reading thread took runs long.
 *
 * <p>Someone must read stdin while a task runs, so that a cancel or a task sent ahead is seen. Handing the reading
 * over at once, as the other threads of the worker do while slots are free, wakes a thread for every task, which
 * costs more than a short task itself. So the thread that took the last free slot keeps the reading permit while
 * it runs its task ({@link #lend()}); a watchdog gives the permit to the waiting threads if the task is still
 * running after {@link #DELAY_NANOS} (a cancel is then read at most that much later), and the reading thread takes
 * it back when the task ends in time ({@link #reclaim()}). The watchdog polls only while tasks come and go, and
 * sleeps when the worker is idle. While tasks come and go it wakes once per {@link #DELAY_NANOS}, not once per task.
 */
final class ReaderHandOff {
    /**
     * How long a task may hold the reading before it is handed over. Long enough that tasks of about a millisecond,
     * the common short CPU-bound task, end before it (no thread woken for them at all); short next to any cancel
     * grace period.
     */
    static final long DELAY_NANOS = TimeUnit.MILLISECONDS.toNanos(2);
    /** With no task for this long the watchdog sleeps until the next one. */
    static final long IDLE_NANOS = TimeUnit.MILLISECONDS.toNanos(20);

    private final Semaphore reader;
    private final Runnable onHandOver;
    private final AtomicBoolean lent = new AtomicBoolean();
    private volatile long lentAt;
    private volatile boolean sleeping;
    private final Thread watchdog;

    /** {@code onHandOver} runs on the watchdog just before it hands the reading over. */
    ReaderHandOff(Semaphore reader, Runnable onHandOver) {
        this.reader = reader;
        this.onHandOver = onHandOver;
        this.watchdog = new Thread(this::watch, "procpool-worker-reader-watchdog");
        watchdog.setDaemon(true);
        watchdog.start();
    }

    /** The caller holds the reading permit and starts a task; the permit goes to another thread if it runs long. */
    void lend() {
        lentAt = System.nanoTime();
        lent.set(true);
        if (sleeping) {
            LockSupport.unpark(watchdog);
        }
    }

    /**
     * The task ended. Returns whether the caller still holds the reading permit; if not, the watchdog has released
     * it for the other threads, or another thread has taken the reading over.
     */
    boolean reclaim() {
        return lent.compareAndSet(true, false);
    }

    /**
     * A thread whose task ended wants to read while the reading is lent to a running task: returns whether it now
     * holds the reading permit, taken from the lender (whose {@link #reclaim()} then fails). A slot that frees up
     * beside a long task is thus filled at once rather than when the watchdog hands the reading over.
     */
    boolean takeOver() {
        return lent.compareAndSet(true, false);
    }

    /** Whether the watchdog is asleep for want of tasks; for tests. */
    boolean isSleeping() {
        return sleeping;
    }

    private void watch() {
        long lastActive = System.nanoTime();
        while (true) {
            long now = System.nanoTime();
            if (lent.get()) {
                lastActive = now;
                long held = now - lentAt;
                if (held >= DELAY_NANOS) {
                    if (lent.compareAndSet(true, false)) {
                        onHandOver.run();
                        reader.release(); // on behalf of the thread running the long task
                    }
                } else {
                    LockSupport.parkNanos(this, DELAY_NANOS - held);
                }
            } else if (now - lastActive < IDLE_NANOS) {
                LockSupport.parkNanos(this, DELAY_NANOS);
            } else {
                sleeping = true;
                if (!lent.get()) { // checked after announcing the sleep, so that lend() sees it or we see the lend
                    LockSupport.park(this);
                }
                sleeping = false;
                lastActive = System.nanoTime();
            }
        }
    }
}
