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
    /** Its stdout has ended: it is dying, and can answer nothing more, though its exit is not reported yet. */
    boolean stdoutEnded;
    /** How many tasks to send ahead of its slots, from its measured task times and round trips. */
    final SendAhead sendAhead = new SendAhead();
    /** The last task sent while a slot was free, so that it started on arrival: its answer measures a round trip. */
    TaskRecord startedAtOnce;

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

    /** Takes tasks: ready, not stopping, not retiring, not a hot spare, its stdout not ended. */
    boolean takesTasks() {
        return isReady() && isActiveMember() && !stdoutEnded;
    }

    /** Takes tasks and has a slot free to start one at once. */
    boolean hasFreeSlot() {
        return takesTasks() && inFlight.size() < maxConcurrency;
    }

    /**
     * Takes tasks and has room for one more in flight, in a slot or in its send-ahead window: the group's fixed
     * prefetch, or the adaptive window ({@link SendAhead}). Whether a given task may go ahead into it is the
     * {@link Dispatcher}'s call.
     */
    boolean hasRoom() {
        return takesTasks() && inFlight.size() < maxConcurrency + sendAheadWindow();
    }

    /**
     * Tasks this worker could take now, slots and send-ahead window together; what a durable store's claims are
     * sized by.
     */
    int freeSlots() {
        return takesTasks() ? Math.max(0, maxConcurrency + sendAheadWindow() - inFlight.size()) : 0;
    }

    private int sendAheadWindow() {
        return group.config.adaptivePrefetch() ? sendAhead.window() : group.config.prefetch();
    }

    /** The oldest task in flight, which runs (or, with several slots, one of those that run); null if none. */
    TaskRecord oldestInFlight() {
        return inFlight.isEmpty() ? null : inFlight.values().iterator().next();
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
