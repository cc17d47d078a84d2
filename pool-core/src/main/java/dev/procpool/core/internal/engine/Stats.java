package dev.procpool.core.internal.engine;

import dev.procpool.PoolHealth;
import dev.procpool.PoolSnapshot;
import dev.procpool.PoolState;
import dev.procpool.WorkerSnapshot;
import dev.procpool.core.internal.queue.TaskBook;
import dev.procpool.core.internal.retry.DeadLetters;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.function.Supplier;
import java.util.concurrent.TimeUnit;

/**
 * Views of the pool for readers: the snapshot, the workers, and a one-line state for error messages (in the manner
 * of HikariCP's "total=…, active=…, idle=…, waiting=…"). Called under the engine's lock; everything returned is a
 * copy.
 */
final class Stats {
    private final EngineContext ctx;
    private final Counters counters;
    private final Supervisor supervisor;
    private final TaskBook<TaskRecord> book;
    /** The dead-letter queue as snapshots show it: this pool's in memory, or the store's view of its own. */
    private volatile Supplier<PoolSnapshot.DeadLetters> deadLetters;

    Stats(EngineContext ctx, Counters counters, Supervisor supervisor, TaskBook<TaskRecord> book,
          DeadLetters deadLetters) {
        this.ctx = ctx;
        this.deadLetters = () -> new PoolSnapshot.DeadLetters(deadLetters.size(), deadLetters.added(),
                deadLetters.evicted());
        this.counters = counters;
        this.supervisor = supervisor;
        this.book = book;
    }

    List<WorkerSnapshot> workers(long now) {
        long heartbeat = ctx.config.heartbeatTimeout().toNanos();
        return supervisor.workers.stream()
                .sorted(Comparator.comparingInt(w -> Integer.parseInt(w.id.substring(2))))
                .map(w -> new WorkerSnapshot(w.id, w.group.name(), w.pid, w.state,
                        w.isReady() && now - w.lastFrameAt < heartbeat,
                        w.tasksServed, List.copyOf(w.inFlight.keySet()),
                        TimeUnit.NANOSECONDS.toMillis(now - w.launchedAt),
                        TimeUnit.NANOSECONDS.toMillis(now - w.lastFrameAt), w.rssBytes, w.heapUsedBytes))
                .toList();
    }

    PoolSnapshot snapshot(PoolState state, long startedAt, PoolHealth health, long balancerFailures,
                          PoolSnapshot.Store store, long now) {
        int idle = 0;
        int busy = 0;
        int unhealthy = 0;
        long heartbeat = ctx.config.heartbeatTimeout().toNanos();
        List<WorkerRecord> workers = supervisor.workers;
        for (WorkerRecord w : workers) {
            boolean healthy = w.isReady() && !w.isStopping() && now - w.lastFrameAt < heartbeat;
            if (!healthy) {
                unhealthy++;
            } else if (w.inFlight.isEmpty()) {
                idle++;
            } else {
                busy++;
            }
        }
        Counters c = counters;
        long served = workers.stream().mapToLong(w -> w.tasksServed).sum() + supervisor.servedByDeadWorkers;
        List<PoolSnapshot.Group> groups = new ArrayList<>();
        for (GroupRuntime group : supervisor.groups.values()) {
            int live = (int) workers.stream().filter(w -> w.group == group && w.isActiveMember()).count();
            int spares = (int) workers.stream().filter(w -> w.group == group && w.spare && !w.isStopping()).count();
            groups.add(new PoolSnapshot.Group(group.name(), group.target, group.min, group.max, live, spares));
        }
        return new PoolSnapshot(
                new PoolSnapshot.Pool(ctx.name(), (int) workers.stream().filter(WorkerRecord::isActiveMember).count(),
                        state, startedAt == 0 ? 0 : TimeUnit.NANOSECONDS.toMillis(now - startedAt)),
                new PoolSnapshot.Workers(workers.size(), idle, busy, unhealthy),
                new PoolSnapshot.Tasks(c.submitted, c.succeeded, c.failed, c.deadLettered,
                        c.cancelled, c.rejected(), c.retried, book.queued(), supervisor.runningCount(),
                        c.failuresByReason, c.rejectedByKind),
                new PoolSnapshot.Performance(c.workersStarted == 0 ? 0 : (double) served / c.workersStarted,
                        c.workersStarted, c.restarts, c.zombies, c.runs == 0 ? 0 : c.runNanos / 1e6 / c.runs,
                        c.restartsByReason, balancerFailures),
                health,
                new PoolSnapshot.Queue(book.queued(), book.retrying(), c.waits == 0 ? 0 : c.waitNanos / 1e6 / c.waits),
                groups,
                deadLetters.get(),
                store);
    }

    /** With a durable store: its dead letters, as its view keeps them (snapshots never wait for the database). */
    void deadLetters(Supplier<PoolSnapshot.DeadLetters> view) {
        this.deadLetters = view;
    }

    /** The pool in one line, for messages that must say what state it was in. */
    String describe(PoolState state) {
        int starting = 0;
        int idle = 0;
        int busy = 0;
        int stopping = 0;
        for (WorkerRecord w : supervisor.workers) {
            if (w.isStopping()) {
                stopping++;
            } else if (!w.isReady()) {
                starting++;
            } else if (w.inFlight.isEmpty()) {
                idle++;
            } else {
                busy++;
            }
        }
        return "pool=" + ctx.name() + ", state=" + state + ", workers=" + supervisor.workers.size() + " (idle="
                + idle + ", busy=" + busy + ", starting=" + starting + ", stopping=" + stopping + ", scheduled="
                + supervisor.pendingSpawnCount() + "), tasks queued=" + book.queued() + ", retrying="
                + book.retrying() + ", running=" + supervisor.runningCount();
    }
}
