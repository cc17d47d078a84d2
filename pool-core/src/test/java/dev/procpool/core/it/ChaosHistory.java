package dev.procpool.core.it;

import dev.procpool.FailureReason;
import dev.procpool.PoolEvent;
import dev.procpool.PoolListener;

import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * What a pool's events say happened, by task and by worker, each event numbered in the order the pool published it
 * (events reach a listener in that order, on one thread), so that the chaos run can check the order of things: an
 * attempt retried after its worker was lost starts only after that worker's exit was seen. Cheap per event, so that
 * a 10,000-task run keeps up; read it after {@link #terminated()}.
 */
final class ChaosHistory implements PoolListener {
    /** An attempt sent to a worker. */
    record Start(int attempt, String workerId, long seq) {
    }

    /** An attempt that failed, and whether another followed. */
    record Failure(int attempt, FailureReason reason, boolean willRetry, long seq) {
    }

    /** A worker's exit, as the pool saw it. */
    record Exit(String workerId, long pid, String status, FailureReason cause, long seq) {
    }

    /** Everything the events say about one task. */
    static final class TaskEvents {
        final List<Start> starts = new ArrayList<>(1);
        final List<Failure> failures = new ArrayList<>(0);
        int submitted;
        int completed;
        int deadLettered;
        int retried;
    }

    private final AtomicLong seq = new AtomicLong();
    private final Map<String, TaskEvents> tasks = new ConcurrentHashMap<>();
    private final Map<String, Exit> exits = new ConcurrentHashMap<>();
    private final Map<Long, Exit> exitsByPid = new ConcurrentHashMap<>();
    private final Set<Long> zombies = ConcurrentHashMap.newKeySet();
    private final Map<FailureReason, Long> failuresByReason = new EnumMap<>(FailureReason.class);
    private volatile long retried;
    private volatile long restarts;
    private volatile long workersReady;
    private volatile boolean terminated;

    @Override
    public void onEvent(PoolEvent event) {
        long n = seq.incrementAndGet(); // one delivering thread: plain updates below are safe, the fields volatile
        if (event instanceof PoolEvent.TaskSubmitted e) {
            task(e.taskId()).submitted++;
        } else if (event instanceof PoolEvent.TaskStarted e) {
            task(e.taskId()).starts.add(new Start(e.attempt(), e.workerId(), n));
        } else if (event instanceof PoolEvent.TaskCompleted e) {
            task(e.taskId()).completed++;
        } else if (event instanceof PoolEvent.TaskFailed e) {
            task(e.taskId()).failures.add(new Failure(e.attempt(), e.reason(), e.willRetry(), n));
            synchronized (failuresByReason) {
                failuresByReason.merge(e.reason(), 1L, Long::sum);
            }
        } else if (event instanceof PoolEvent.TaskRetried e) {
            task(e.taskId()).retried++;
            retried++;
        } else if (event instanceof PoolEvent.TaskDeadLettered e) {
            task(e.entry().taskId()).deadLettered++;
        } else if (event instanceof PoolEvent.WorkerStarted) {
            workersReady++;
        } else if (event instanceof PoolEvent.WorkerExited e) {
            Exit exit = new Exit(e.workerId(), e.pid(), e.exitStatus(), e.cause(), n);
            exits.put(e.workerId(), exit);
            exitsByPid.put(e.pid(), exit);
        } else if (event instanceof PoolEvent.ZombieDetected e) {
            zombies.add(e.pid());
        } else if (event instanceof PoolEvent.WorkerRestarting) {
            restarts++;
        } else if (event instanceof PoolEvent.PoolTerminated) {
            terminated = true;
        }
    }

    private TaskEvents task(String id) {
        return tasks.computeIfAbsent(id, ignored -> new TaskEvents());
    }

    /** Whether the pool's last event was delivered: everything before it was too. */
    boolean terminated() {
        return terminated;
    }

    /** The events of a task; empty ones if it had none. */
    TaskEvents of(String taskId) {
        return tasks.getOrDefault(taskId, new TaskEvents());
    }

    int tasksSeen() {
        return tasks.size();
    }

    /** The exit of a worker, or null if none was seen. */
    Exit exitOf(String workerId) {
        return exits.get(workerId);
    }

    /** The exit of the worker with this pid, or null if none was seen. */
    Exit exitOfPid(long pid) {
        return exitsByPid.get(pid);
    }

    Set<Long> zombies() {
        return Set.copyOf(zombies);
    }

    Map<FailureReason, Long> failuresByReason() {
        synchronized (failuresByReason) {
            return Map.copyOf(failuresByReason);
        }
    }

    long failedAttempts() {
        return failuresByReason().values().stream().mapToLong(Long::longValue).sum();
    }

    long retried() {
        return retried;
    }

    long restarts() {
        return restarts;
    }

    long workersReady() {
        return workersReady;
    }

    long exits() {
        return exits.size();
    }
}
