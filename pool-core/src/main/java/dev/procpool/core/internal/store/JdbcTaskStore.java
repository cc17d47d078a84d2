package dev.procpool.core.internal.store;

import dev.procpool.Ticker;
import dev.procpool.core.internal.Loggers;
import org.slf4j.Logger;

import java.sql.Connection;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ThreadFactory;

/**
 * The {@link DurableStore} on a relational database through JDBC, for one pool. Three long-lived connections of its
 * own: the writer (one thread; every write goes through it, batched by {@link GroupCommit}), the reader (lookups),
 * and the listener (PostgreSQL notifications). Each is reopened after a failure, so a plain non-pooling
 * {@code DataSource} costs nothing per call, and the store recovers by itself when its database is back.
 */
public final class JdbcTaskStore implements DurableStore {
    private static final Logger LOG = Loggers.store();
    /** A PostgreSQL transaction that lost a deadlock or serialization conflict is run again this many times. */
    private static final int CONFLICT_TRIES = 3;

    private enum Phase { NEW, OPEN, CLOSED }

    private final Dialect dialect;
    private final String pool;
    private final HostIdentity host;
    private final Clock clock;
    private final ThreadFactory threads;
    private final ConnectionSlot writerSlot;
    private final Reads reads;
    private final OutcomeWatcher watcher;
    private final Writes writes;
    private final Upkeep upkeep;
    private final ConnectionSlot.Factory connections;
    private final Ticker ticker;
    private final GroupCommit<Op> writer;
    private volatile StoreEvents events = StoreEvents.NONE;
    /** Tasks this store inserted, and the count at which it next refreshes the planner's statistics. */
    private long inserted;
    private long refreshStatisticsAt = FIRST_STATISTICS_REFRESH;
    private static final long FIRST_STATISTICS_REFRESH = 1_000;
    private ChangeFeed feed;
    private volatile Phase phase = Phase.NEW;

    JdbcTaskStore(Dialect dialect, ConnectionSlot.Factory connections, String pool, HostIdentity host, Clock clock,
                  Ticker ticker, ThreadFactory threads) {
        this.dialect = dialect;
        this.pool = Objects.requireNonNull(pool, "pool");
        this.host = Objects.requireNonNull(host, "host");
        this.clock = clock;
        this.ticker = ticker;
        this.threads = threads;
        this.connections = connections;
        this.writerSlot = new ConnectionSlot("writer", connections, dialect, ticker);
        this.reads = new Reads(new ConnectionSlot("reader", connections, dialect, ticker), dialect, pool);
        this.watcher = new OutcomeWatcher(reads);
        this.writes = new Writes(dialect, pool, host);
        this.upkeep = new Upkeep(writes, dialect, pool, host);
        this.writer = new GroupCommit<>(threads, "store-writer", dialect.settings.maxBatchTasks(), this::runBatch);
    }

    // ---- the operations the writer batches

    /** A write: one of the kinds below. */
    private abstract static class Op extends GroupCommit.Item {
        abstract String doing();
    }

    private static final class InsertOp extends Op {
        final List<NewTask> tasks;

        InsertOp(List<NewTask> tasks) {
            this.tasks = tasks;
        }

        @Override
        int weight() {
            return tasks.size();
        }

        @Override
        String doing() {
            return "inserting " + tasks.size() + " task(s)";
        }
    }

    private static final class RecordOp extends Op {
        final List<AttemptEnd> ends;

        RecordOp(List<AttemptEnd> ends) {
            this.ends = ends;
        }

        @Override
        int weight() {
            return ends.size();
        }

        @Override
        String doing() {
            return "recording " + ends.size() + " attempt end(s)";
        }
    }

    /** Any other write, run on its own within the batch's transaction. */
    private static final class TxOp extends Op {
        interface Body {
            Object run(Writes.Effects effects) throws SQLException;
        }

        final String doing;
        final Body body;

        TxOp(String doing, Body body) {
            this.doing = doing;
            this.body = body;
        }

        @Override
        String doing() {
            return doing;
        }
    }

    /** Runs one batch in one transaction: inserts together, records together, then the rest in order. */
    private List<Object> runBatch(List<Op> ops) {
        for (int tries = 1; ; tries++) {
            Writes.Effects effects = new Writes.Effects();
            Connection connection = writerSlot.get();
            try {
                dialect.begin(connection);
                List<Object> results = apply(ops, effects);
                if (effects.tasksAvailable && dialect.notifies()) {
                    effects.notifications.add("n " + pool);
                }
                for (String payload : effects.notifications) {
                    dialect.notify(writerSlot, payload);
                }
                dialect.commit(connection);
                announce(effects);
                afterInserts(connection, ops);
                return results;
            } catch (SQLException e) {
                rollbackQuietly(connection, e);
                if (dialect.isConflict(e) && tries < CONFLICT_TRIES) {
                    continue;
                }
                throw writerSlot.failure(ops.size() == 1 ? ops.get(0).doing() : ops.size() + " batched writes", e);
            } catch (RuntimeException | Error e) {
                rollbackQuietly(connection, e);
                throw e;
            }
        }
    }

    /** Refreshes statistics when the inserted count doubled (1,000, 2,000, 4,000 … tasks), on the writer thread. */
    private void afterInserts(Connection connection, List<Op> ops) {
        for (Op op : ops) {
            if (op instanceof InsertOp insert) {
                inserted += insert.tasks.size();
            }
        }
        if (inserted < refreshStatisticsAt) {
            return;
        }
        refreshStatisticsAt = inserted * 2;
        try {
            dialect.refreshStatistics(connection);
        } catch (SQLException e) { // only an optimization: the next milestone tries again
            rollbackQuietly(connection, e);
            LOG.debug("could not refresh the task store's statistics", e);
        }
    }

    private List<Object> apply(List<Op> ops, Writes.Effects effects) throws SQLException {
        Object[] results = new Object[ops.size()];
        List<NewTask> tasks = new ArrayList<>();
        List<AttemptEnd> ends = new ArrayList<>();
        for (Op op : ops) {
            if (op instanceof InsertOp insert) {
                tasks.addAll(insert.tasks);
            } else if (op instanceof RecordOp record) {
                ends.addAll(record.ends);
            }
        }
        List<InsertResult> inserted = tasks.isEmpty() ? List.of() : writes.insert(writerSlot, tasks, effects);
        List<RecordOutcome> recorded = ends.isEmpty() ? List.of()
                : writes.record(writerSlot, ends, java.util.Collections.nCopies(ends.size(), host.name()), effects);
        int insertAt = 0;
        int recordAt = 0;
        for (int i = 0; i < ops.size(); i++) {
            Op op = ops.get(i);
            if (op instanceof InsertOp insert) {
                results[i] = inserted.subList(insertAt, insertAt += insert.tasks.size());
            } else if (op instanceof RecordOp record) {
                results[i] = recorded.subList(recordAt, recordAt += record.ends.size());
            } else {
                results[i] = ((TxOp) op).body.run(effects);
            }
        }
        return java.util.Arrays.asList(results); // a write may have no result (null)
    }

    private void rollbackQuietly(Connection connection, Throwable cause) {
        try {
            dialect.rollback(connection);
        } catch (SQLException | RuntimeException e) {
            cause.addSuppressed(e);
        }
    }

    /** After the commit: wake this host's engine and waiters (other hosts learn through the notifications). */
    private void announce(Writes.Effects effects) {
        StoreEvents listener = events;
        try {
            if (effects.tasksAvailable) {
                listener.tasksAvailable();
            }
            effects.cancelsForMe.forEach(listener::cancelRequested);
        } catch (RuntimeException e) {
            LOG.error("a task store event callback failed", e);
        }
        if (!effects.ended.isEmpty() && !watcher.isEmpty()) {
            try {
                watcher.ended(effects.ended);
            } catch (RuntimeException e) { // the reader is down: the feed's polls complete them later
                LOG.debug("could not look up ended tasks for their waiters now", e);
            }
        }
    }

    private Object await(Op op) {
        if (writer.isCommitterThread()) {
            throw new IllegalStateException("the task store was called from its own writer thread (a StoreEvents "
                    + "callback or a dependent action of a future must not call the store and wait)");
        }
        try {
            return submit(op).join();
        } catch (CompletionException e) {
            Throwable cause = e.getCause();
            if (cause instanceof StoreUnavailableException unavailable) {
                throw new StoreUnavailableException(unavailable.getMessage(), unavailable);
            }
            if (cause instanceof RuntimeException runtime) {
                throw new IllegalStateException(runtime.getMessage(), runtime);
            }
            throw new IllegalStateException("the task store failed " + op.doing(), cause);
        }
    }

    private CompletableFuture<Object> submit(Op op) {
        requireOpen();
        return writer.submit(op);
    }

    private Object write(String doing, TxOp.Body body) {
        return await(new TxOp(doing, body));
    }

    private void requireOpen() {
        if (phase != Phase.OPEN) {
            throw new IllegalStateException("the task store is " + (phase == Phase.NEW ? "not open yet" : "closed"));
        }
    }

    // ---- DurableStore

    @Override
    public synchronized void open(StoreEvents events) {
        if (phase != Phase.NEW) {
            throw new IllegalStateException("the task store is already " + phase.name().toLowerCase());
        }
        this.events = Objects.requireNonNull(events, "events");
        Instant now = clock.instant();
        Connection connection = writerSlot.get();
        try {
            int found = Migrations.migrate(dialect, connection, Migrations.LATEST, host.name(), now.toEpochMilli());
            if (found < Migrations.LATEST) {
                LOG.info("task store schema {}… migrated from version {} to {}", dialect.tables.task(), found,
                        Migrations.LATEST);
            }
            dialect.begin(connection);
            writes.registerHost(writerSlot, now);
            dialect.commit(connection);
        } catch (SQLException e) {
            rollbackQuietly(connection, e);
            throw writerSlot.failure("opening the store", e);
        }
        writer.start(); // from here on only the writer thread uses the writer connection
        feed = new ChangeFeed(dialect, new ConnectionSlot("listener", connections, dialect, ticker), reads, watcher,
                events, pool, host.name(), clock, threads);
        feed.start();
        phase = Phase.OPEN;
    }

    @Override
    public HostIdentity host() {
        return host;
    }

    @Override
    @SuppressWarnings("unchecked")
    public List<InsertResult> insert(List<NewTask> tasks) {
        if (tasks.isEmpty()) {
            return List.of();
        }
        return (List<InsertResult>) await(new InsertOp(List.copyOf(tasks)));
    }

    @Override
    @SuppressWarnings("unchecked")
    public CompletableFuture<List<InsertResult>> insertAsync(List<NewTask> tasks) {
        if (tasks.isEmpty()) {
            return CompletableFuture.completedFuture(List.of());
        }
        return submit(new InsertOp(List.copyOf(tasks))).thenApply(result -> (List<InsertResult>) result);
    }

    @Override
    public ClaimResult claim(int max, ServedWork served, Instant now) {
        if (max < 1) {
            throw new IllegalArgumentException("max must be 1 or more, was " + max);
        }
        served.requireSome();
        return (ClaimResult) write("claiming tasks", effects -> writes.claim(writerSlot, max, served, now));
    }

    @Override
    public RenewResult renew(Instant now, Collection<LeaseRef> held) {
        List<LeaseRef> leases = List.copyOf(held);
        return (RenewResult) write("renewing leases", effects -> writes.renew(writerSlot, now, leases));
    }

    @Override
    @SuppressWarnings("unchecked")
    public List<RecordOutcome> record(List<AttemptEnd> ends) {
        if (ends.isEmpty()) {
            return List.of();
        }
        return (List<RecordOutcome>) await(new RecordOp(List.copyOf(ends)));
    }

    @Override
    @SuppressWarnings("unchecked")
    public CompletableFuture<List<RecordOutcome>> recordAsync(List<AttemptEnd> ends) {
        if (ends.isEmpty()) {
            return CompletableFuture.completedFuture(List.of());
        }
        return submit(new RecordOp(List.copyOf(ends))).thenApply(result -> (List<RecordOutcome>) result);
    }

    @Override
    @SuppressWarnings("unchecked")
    public List<RescuedAttempt> rescueExpired(Instant now, RescueDecider decider) {
        Objects.requireNonNull(decider, "decider");
        return (List<RescuedAttempt>) write("rescuing expired leases",
                effects -> upkeep.rescue(writerSlot, now, decider, effects));
    }

    @Override
    public CancelResult cancel(String taskId, Instant now) {
        Objects.requireNonNull(taskId, "taskId");
        return (CancelResult) write("cancelling task " + taskId,
                effects -> upkeep.cancel(writerSlot, taskId, now, effects));
    }

    @Override
    public Optional<StoredTask> find(String taskId) {
        requireOpen();
        return reads.find(Objects.requireNonNull(taskId, "taskId"));
    }

    @Override
    public CompletableFuture<StoredTask> awaitEnd(String taskId) {
        requireOpen();
        return watcher.await(Objects.requireNonNull(taskId, "taskId"));
    }

    @Override
    public void unwatch(String taskId) {
        watcher.unwatch(Objects.requireNonNull(taskId, "taskId"));
    }

    @Override
    public long waitingCount() {
        requireOpen();
        return reads.waitingCount();
    }

    @Override
    public CompletableFuture<StoredTask> watchEnd(String taskId) {
        requireOpen();
        return watcher.watch(Objects.requireNonNull(taskId, "taskId"));
    }

    @Override
    public List<StoredTask> deadLetters(int offset, int limit) {
        if (offset < 0 || limit < 0) {
            throw new IllegalArgumentException("offset and limit must be 0 or more, were " + offset + " and " + limit);
        }
        requireOpen();
        return reads.deadLetters(offset, limit);
    }

    @Override
    public int deadLetterCount() {
        requireOpen();
        return reads.deadLetterCount();
    }

    @Override
    public boolean redrive(String taskId, long rank, Instant now) {
        Objects.requireNonNull(taskId, "taskId");
        return (Boolean) write("redriving task " + taskId,
                effects -> upkeep.redrive(writerSlot, taskId, rank, now, effects));
    }

    @Override
    public boolean removeDeadLetter(String taskId) {
        Objects.requireNonNull(taskId, "taskId");
        return (Integer) write("removing dead letter " + taskId,
                effects -> upkeep.removeDeadLetters(writerSlot, taskId)) > 0;
    }

    @Override
    public int purgeDeadLetters() {
        return (Integer) write("purging dead letters", effects -> upkeep.removeDeadLetters(writerSlot, null));
    }

    @Override
    public int purgeExpired(Instant now) {
        int total = 0;
        int step;
        do { // in steps, so that the writer never holds one long transaction for it
            step = (Integer) write("purging expired tasks", effects -> upkeep.purgeStep(writerSlot, now));
            total += step;
        } while (step == Writes.STEP);
        return total;
    }

    @Override
    public List<HostRecord> hosts() {
        requireOpen();
        return reads.hosts();
    }

    /** Whether PostgreSQL notifications are being received now (false on SQLite). */
    public boolean isListening() {
        return feed != null && feed.isListening();
    }

    @Override
    public void close() {
        synchronized (this) {
            if (phase == Phase.CLOSED) {
                return;
            }
            if (phase == Phase.NEW) {
                phase = Phase.CLOSED;
                writerSlot.close();
                reads.close();
                return;
            }
        }
        try {
            write("releasing this host's leases", effects -> {
                upkeep.release(writerSlot, clock.instant());
                return null;
            });
        } catch (RuntimeException e) { // unreachable: its leases expire by themselves
            LOG.warn("could not release the leases of host {} on close: {}", host.name(), e.toString());
        }
        synchronized (this) {
            phase = Phase.CLOSED;
        }
        feed.close();
        writer.close();
        writerSlot.close();
        watcher.failAll(new IllegalStateException("the task store is closed"));
        reads.close();
    }
}
