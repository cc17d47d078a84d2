package dev.procpool.core.internal.engine;

import dev.procpool.FailureReason;
import dev.procpool.LoadBalancer;
import dev.procpool.WorkerState;
import dev.procpool.core.internal.process.ExitStatus;
import dev.procpool.core.internal.process.WorkerConnection;
import dev.procpool.core.internal.supervise.StopStage;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;

/** The engine's view of one worker. Guarded by the engine's lock. */
final class WorkerRecord implements LoadBalancer.WorkerView {
    final String id;
    final GroupRuntime group;
    final long launchedAt;
    final CompletableFuture<Void> ready = new CompletableFuture<>();
    final Map<String, TaskRecord> inFlight = new LinkedHashMap<>();

    WorkerConnection process;
    /** The command it was launched with (set on the effects thread before the launch), for messages. */
    volatile java.util.List<String> command;
    long pid = -1;
    WorkerState state = WorkerState.STARTING;
    int maxConcurrency = 1;
    /** Empty when the worker serves any type. */
    Set<String> taskTypes = Set.of();
    Set<String> capabilities = Set.of();
    long readyAt;
    long lastFrameAt;
    /** When it last answered a task (0 before its first answer). */
    long lastAnswerAt;
    long tasksServed;
    long rssBytes;
    long heapUsedBytes;
    long nonFrameLines;

    /** Why the pool is stopping this worker; decides the failure reason of its tasks. Null if not stopping. */
    FailureReason stopCause;
    String stopDetail;
    StopStage stopStage = StopStage.NONE;
    long stopStageAt;
    ExitStatus exitStatus;

    /** Take no new task; stop once the current ones end (recycling). */
    boolean retireWhenIdle;
    String retireWhy;
    /** This worker's own recycling limits, spread so that a group's workers do not all recycle together. */
    long recycleAfterTasks = Long.MAX_VALUE;
    long recycleAtAge = Long.MAX_VALUE;
    /** Whether this worker has counted as stable for its group's restart backoff. */
    boolean stable;
    /** A hot spare: started and ready, but given no task until it replaces a dead worker. */
    boolean spare;
    /** The most stray stdout lines kept from a stopping worker (a JVM thread dump is a few hundred). */
    static final int MAX_STOPPING_LINES = 2000;
    /** Stray stdout lines written while the worker was being stopped: a thread dump, or last words. */
    final java.util.List<String> stoppingOutput = new java.util.ArrayList<>(0);
    /** Since when the worker has had no task (for idle retirement). */
    long idleSince;

    WorkerRecord(String id, GroupRuntime group, long launchedAt) {
        this.id = id;
        this.group = group;
        this.launchedAt = launchedAt;
        this.lastFrameAt = launchedAt;
    }

    boolean isReady() {
        return state == WorkerState.IDLE || state == WorkerState.BUSY;
    }

    /** Counts toward its group's size: not stopping, not retiring, not a spare. */
    boolean isActiveMember() {
        return stopStage == StopStage.NONE && !retireWhenIdle && !spare;
    }

    boolean isStopping() {
        return stopStage != StopStage.NONE;
    }

    boolean hasFreeSlot() {
        return isReady() && stopStage == StopStage.NONE && !retireWhenIdle && !spare
                && inFlight.size() < maxConcurrency + group.config.prefetch();
    }

    /** Whether this worker may take the task now: its kind, and not while it still runs an earlier attempt of it. */
    boolean canRun(TaskRecord task) {
        return canRun(task.routingKey) && !inFlight.containsKey(task.id);
    }

    boolean canRun(TaskRecord.RoutingKey key) {
        return (taskTypes.isEmpty() || taskTypes.contains(key.type()))
                && capabilities.containsAll(key.requiredCapabilities());
    }

    @Override
    public String id() {
        return id;
    }

    @Override
    public String group() {
        return group.name();
    }

    @Override
    public long pid() {
        return pid;
    }

    @Override
    public int tasksInFlight() {
        return inFlight.size();
    }

    @Override
    public int maxConcurrency() {
        return maxConcurrency;
    }

    @Override
    public long tasksServed() {
        return tasksServed;
    }

    @Override
    public long rssBytes() {
        return rssBytes;
    }

    @Override
    public Set<String> capabilities() {
        return capabilities;
    }

    @Override
    public String toString() {
        return id + "(pid " + pid + ", " + state + ")";
    }
}
