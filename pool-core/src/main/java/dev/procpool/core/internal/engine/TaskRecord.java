package dev.procpool.core.internal.engine;

import dev.procpool.AttemptRecord;
import dev.procpool.LoadBalancer;
import dev.procpool.RetryPolicy;
import dev.procpool.TaskRequest;
import dev.procpool.TaskResult;
import dev.procpool.TaskState;
import dev.procpool.core.internal.queue.BookEntry;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;

/**
 * A task accepted by the pool. Final fields are set at submission; the rest is guarded by the engine's lock,
 * except {@link #state} (volatile, for lock-free reads by handles) and {@link #frameEnd}.
 */
final class TaskRecord implements BookEntry, LoadBalancer.TaskView {
    final String id;
    final TaskRequest request;
    final byte[] payloadJson;
    final long sequence;
    /** Set at construction; the engine swaps in the book's shared instance for equal keys (see submit). */
    RoutingKey routingKey;
    /** Queue order, set each time the task is queued (priority, lifted by aging). */
    long rank;
    final long submittedAt;
    /** The attempt timeout in nanoseconds; 0 when the task has none. */
    final long timeoutNanos;
    final RetryPolicy retryPolicy;
    /** The caller's future: completed once, in memory by the engine, with a durable store once the store has it. */
    final CompletableFuture<TaskResult> future;
    /** With a durable store: this host's lease on the task's current attempt (claim = attempt). Null in memory. */
    dev.procpool.core.internal.store.LeaseRef lease;
    /** With a durable store: the lease was lost to another host; nothing this attempt does is recorded. */
    boolean abandoned;
    /**
     * The failed attempts so far, for the dead-letter entry. Most tasks never fail, and a queue can hold hundreds of
     * thousands of tasks: the list exists only from the first failure, as does {@link #output}.
     */
    List<AttemptRecord> failedAttempts = List.of();

    volatile TaskState state = TaskState.QUEUED;
    /**
     * With a durable store: the end the store reported for the caller's handle. Kept apart from {@link #state},
     * which stays the engine's own: an attempt of this host may still run here after another host ended the task.
     */
    volatile TaskState endedInStore;

    /** The state a caller's handle shows: the store's word on the task's end once it came, else the engine's. */
    TaskState handleState() {
        TaskState ended = endedInStore;
        return ended != null ? ended : state;
    }
    /** Offset just past this task's frame in its worker's input; see FrameWriter. */
    volatile long frameEnd;

    private int queueIndex = -1;
    int attempts;
    WorkerRecord worker;
    /** The pid of the worker of the latest attempt, for the task's log file. */
    long lastWorkerPid;
    /** The worker of the latest attempt, for the caller's handle (read without the lock). */
    volatile String lastWorkerId;
    long queuedAt;
    long dispatchedAt;
    long deadline = Long.MAX_VALUE;
    /** When the worker must have answered a cancel (timeout or caller's cancel), or be killed; MAX when none. */
    long cancelKillAt = Long.MAX_VALUE;
    boolean timedOut;
    /** When a task in RETRY_WAIT or SCHEDULED is due to be queued. */
    long retryAt;
    /** The highest worker RSS seen during the current attempt. */
    long peakRssBytes;
    /** What the current attempt wrote, the last lines only; null until the first line. */
    private java.util.ArrayDeque<String> output;
    /** Callbacks for reported progress, copied on write; most tasks have none, so no list is allocated. */
    volatile List<java.util.function.Consumer<dev.procpool.TaskProgress>> progressListeners = List.of();

    void addFailedAttempt(AttemptRecord attempt) {
        if (failedAttempts.isEmpty()) {
            failedAttempts = new ArrayList<>(2);
        }
        failedAttempts.add(attempt);
    }

    /** Keeps a line the current attempt wrote, dropping the oldest beyond {@code max}. */
    void addOutput(String line, int max) {
        if (output == null) {
            output = new java.util.ArrayDeque<>(4);
        }
        if (output.size() == max) {
            output.removeFirst();
        }
        output.addLast(line);
    }

    boolean hasOutput() {
        return output != null && !output.isEmpty();
    }

    List<String> outputLines() {
        return output == null ? List.of() : List.copyOf(output);
    }

    void clearOutput() {
        if (output != null) {
            output.clear();
        }
    }

    synchronized void addProgressListener(java.util.function.Consumer<dev.procpool.TaskProgress> listener) {
        List<java.util.function.Consumer<dev.procpool.TaskProgress>> more = new ArrayList<>(progressListeners);
        more.add(listener);
        progressListeners = List.copyOf(more);
    }

    TaskRecord(String id, TaskRequest request, byte[] payloadJson, long sequence, long submittedAt,
               long timeoutNanos, RetryPolicy retryPolicy) {
        this(id, request, payloadJson, sequence, submittedAt, timeoutNanos, retryPolicy, new CompletableFuture<>());
    }

    TaskRecord(String id, TaskRequest request, byte[] payloadJson, long sequence, long submittedAt,
               long timeoutNanos, RetryPolicy retryPolicy, CompletableFuture<TaskResult> future) {
        this.future = future;
        this.id = id;
        this.request = request;
        this.payloadJson = payloadJson;
        this.sequence = sequence;
        this.routingKey = new RoutingKey(request.type(), request.requiredCapabilities());
        this.rank = request.priority();
        this.submittedAt = submittedAt;
        this.queuedAt = submittedAt;
        this.timeoutNanos = timeoutNanos;
        this.retryPolicy = retryPolicy;
    }

    @Override
    public String type() {
        return request.type();
    }

    /** Tasks with equal keys can run on exactly the same workers. */
    record RoutingKey(String type, Set<String> requiredCapabilities) {
    }

    @Override
    public Object routingKey() {
        return routingKey;
    }

    @Override
    public String id() {
        return id;
    }

    @Override
    public int priority() {
        return request.priority();
    }

    @Override
    public Set<String> requiredCapabilities() {
        return routingKey.requiredCapabilities();
    }

    @Override
    public String affinityKey() {
        return request.affinityKey().orElse(null);
    }

    @Override
    public long submittedAt() {
        return submittedAt;
    }

    @Override
    public void queued(long now, long rank) {
        state = TaskState.QUEUED;
        queuedAt = now;
        this.rank = rank;
    }

    @Override
    public void waitingToRetry(long retryAt) {
        state = TaskState.RETRY_WAIT;
        this.retryAt = retryAt;
    }

    @Override
    public void scheduled(long until) {
        state = TaskState.SCHEDULED;
        this.retryAt = until;
    }

    @Override
    public long retryAt() {
        return retryAt;
    }

    @Override
    public long rank() {
        return rank;
    }

    @Override
    public long sequence() {
        return sequence;
    }

    @Override
    public int queueIndex() {
        return queueIndex;
    }

    @Override
    public void queueIndex(int index) {
        queueIndex = index;
    }
}
