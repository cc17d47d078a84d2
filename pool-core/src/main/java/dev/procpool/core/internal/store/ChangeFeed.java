package dev.procpool.core.internal.store;

import dev.procpool.core.internal.Loggers;
import org.slf4j.Logger;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ThreadFactory;

/**
 * How this host learns what other hosts did: new tasks, ended tasks and cancel requests. On PostgreSQL a listening
 * connection receives NOTIFY messages (and the feed falls back to polling while that connection is down); on
 * SQLite it polls, and only does work when another connection committed since its last look.
 *
 * <p>The PostgreSQL driver's notification API is reached by reflection, so that pool-core needs no driver at
 * compile time; it works through connection pools that unwrap to the driver's connection (HikariCP does).
 */
final class ChangeFeed implements AutoCloseable {
    private static final Logger LOG = Loggers.store();
    /** How long one wait for notifications lasts: the bound on how long close() waits for the thread. */
    private static final int LISTEN_SLICE_MILLIS = 250;
    /** While listening: how often the connection is tested and watched tasks are polled, as a safety net. */
    private static final long SAFETY_POLL_NANOS = 5_000_000_000L;

    private final Dialect dialect;
    private final ConnectionSlot listener;
    private final Reads reads;
    private final OutcomeWatcher watcher;
    private final StoreEvents events;
    private final String pool;
    private final String hostName;
    private final Clock clock;
    private final Thread thread;
    private volatile boolean closed;
    private volatile boolean listening;
    /** When watched tasks were last looked up (or found not worth it); polls look back a lease timeout beyond. */
    private Instant lastPollAt = Instant.EPOCH;

    ChangeFeed(Dialect dialect, ConnectionSlot listener, Reads reads, OutcomeWatcher watcher, StoreEvents events,
               String pool, String hostName, Clock clock, ThreadFactory threads) {
        this.clock = clock;
        this.dialect = dialect;
        this.listener = listener;
        this.reads = reads;
        this.watcher = watcher;
        this.events = events;
        this.pool = pool;
        this.hostName = hostName;
        this.thread = threads.newThread(this::run);
        this.thread.setName(thread.getName() + "store-feed");
        this.thread.setDaemon(true);
    }

    void start() {
        thread.start();
    }

    /** Whether notifications are being received now (PostgreSQL with its listening connection up). */
    boolean isListening() {
        return listening;
    }

    private void run() {
        long pollNanos = dialect.settings.pollInterval().toNanos();
        long lastSafetyPoll = System.nanoTime();
        boolean outageLogged = false;
        while (!closed) {
            try {
                if (dialect.notifies()) {
                    if (!listening) {
                        Dialect.execute(listener.get(), "LISTEN " + dialect.tables.channel());
                        listening = true;
                        if (outageLogged) {
                            LOG.info("task store notifications are back for pool {}", pool);
                            outageLogged = false;
                        }
                        catchUp(); // what was notified while no one listened
                    }
                    for (String payload : receive(listener.get(), LISTEN_SLICE_MILLIS)) {
                        handle(payload);
                    }
                    if (System.nanoTime() - lastSafetyPoll > SAFETY_POLL_NANOS) {
                        lastSafetyPoll = System.nanoTime();
                        Dialect.execute(listener.get(), "SELECT 1"); // a dead socket shows here, not in a wait
                        pollWatched();
                    }
                } else {
                    sleep(pollNanos);
                    if (reads.changedSinceLastLook()) {
                        catchUp();
                    }
                }
            } catch (SQLException | RuntimeException e) {
                if (closed) {
                    break;
                }
                if (listening || !outageLogged) {
                    LOG.warn("task store notifications for pool {} are down ({}); polling every {} ms meanwhile",
                            pool, e.getMessage(), pollNanos / 1_000_000);
                    outageLogged = true;
                }
                listening = false;
                listener.discard();
                sleep(pollNanos);
                try {
                    catchUp();
                } catch (RuntimeException pollFailed) {
                    // the store is down for reads too: the next round tries again
                }
            }
        }
    }

    private void catchUp() {
        safely(events::tasksAvailable);
        pollWatched();
    }

    /**
     * Looks up the watched tasks if another host may have ended some since the last look: one seen alive within a
     * lease timeout of it (a live host is seen every heartbeat, a stopping one as it stops). Alone, this host learns
     * of every end as it records it, and a poll of many watched tasks would only cost.
     */
    private void pollWatched() {
        if (watcher.isEmpty()) {
            return;
        }
        Instant now = clock.instant();
        Instant since = lastPollAt.minus(dialect.settings.leaseTimeout());
        if (reads.othersSeenSince(hostName, since)) {
            watcher.pollAll();
        }
        lastPollAt = now;
    }

    private void handle(String payload) {
        String[] parts = payload.split(" ");
        if (parts.length < 2 || !parts[1].equals(pool)) {
            return; // another pool on the same tables
        }
        switch (parts[0]) {
            case "n" -> safely(events::tasksAvailable);
            case "e" -> watcher.ended(Arrays.asList(parts).subList(2, parts.length));
            case "c" -> {
                if (parts.length == 4 && parts[2].equals(hostName)) {
                    safely(() -> events.cancelRequested(parts[3]));
                }
            }
            default -> LOG.debug("unknown task store notification kind {}", parts[0]);
        }
    }

    private static void safely(Runnable callback) {
        try {
            callback.run();
        } catch (RuntimeException e) {
            LOG.error("a task store event callback failed", e);
        }
    }

    /** Waits up to {@code millis} for notifications through the PostgreSQL driver's own API. */
    private static List<String> receive(Connection connection, int millis) throws SQLException {
        Object[] notifications;
        try {
            Class<?> api = driverClass(connection, "org.postgresql.PGConnection");
            Object pg = connection.unwrap(api);
            Method wait = api.getMethod("getNotifications", int.class);
            notifications = (Object[]) wait.invoke(pg, millis);
        } catch (InvocationTargetException e) {
            if (e.getCause() instanceof SQLException sql) {
                throw sql;
            }
            throw new IllegalStateException("waiting for PostgreSQL notifications failed", e.getCause());
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("the PostgreSQL driver (org.postgresql:postgresql) has no notification "
                    + "API here; is the DataSource a PostgreSQL one?", e);
        }
        if (notifications == null) {
            return List.of();
        }
        List<String> payloads = new ArrayList<>(notifications.length);
        for (Object notification : notifications) {
            try {
                payloads.add((String) notification.getClass().getMethod("getParameter").invoke(notification));
            } catch (ReflectiveOperationException e) {
                throw new IllegalStateException("cannot read a PostgreSQL notification", e);
            }
        }
        return payloads;
    }

    private static Class<?> driverClass(Connection connection, String name) throws ClassNotFoundException {
        List<ClassLoader> loaders = new ArrayList<>();
        loaders.add(connection.getClass().getClassLoader());
        loaders.add(Thread.currentThread().getContextClassLoader());
        loaders.add(ClassLoader.getSystemClassLoader());
        for (ClassLoader loader : loaders) {
            if (loader == null) {
                continue;
            }
            try {
                return Class.forName(name, false, loader);
            } catch (ClassNotFoundException e) {
                // try the next loader
            }
        }
        throw new ClassNotFoundException(name);
    }

    private void sleep(long nanos) {
        try {
            Thread.sleep(nanos / 1_000_000, (int) (nanos % 1_000_000));
        } catch (InterruptedException e) {
            if (!closed) {
                Thread.currentThread().interrupt();
            }
        }
    }

    @Override
    public void close() {
        closed = true;
        thread.interrupt();
        try {
            thread.join(5_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        listener.close();
    }
}
