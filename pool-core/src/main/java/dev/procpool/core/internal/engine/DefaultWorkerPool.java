package dev.procpool.core.internal.engine;

import com.fasterxml.jackson.core.JsonProcessingException;
import dev.procpool.BatchListener;
import dev.procpool.BatchResult;
import dev.procpool.DeadLetterQueue;
import dev.procpool.PoolSnapshot;
import dev.procpool.ProcPoolException;
import dev.procpool.PoolConfig;
import dev.procpool.PoolHealth;
import dev.procpool.PoolListener;
import dev.procpool.PoolState;
import dev.procpool.TaskHandle;
import dev.procpool.TaskRejectedException;
import dev.procpool.TaskRequest;
import dev.procpool.WorkerGroup;
import dev.procpool.WorkerPool;
import dev.procpool.WorkerSnapshot;
import dev.procpool.WorkerSpec;
import dev.procpool.WorkerStartupException;
import dev.procpool.core.internal.events.EventBus;
import dev.procpool.core.internal.supervise.MemoryProbe;
import dev.procpool.core.internal.process.WorkerCommands;
import dev.procpool.core.internal.process.InProcessWorker;
import dev.procpool.core.internal.process.WorkerConnection;
import dev.procpool.core.internal.process.WorkerLauncher;
import dev.procpool.core.internal.process.WorkerProcess;
import dev.procpool.core.internal.retry.DeadLetters;
import dev.procpool.core.internal.protocol.FrameCodec;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Clock;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.locks.LockSupport;

/** The engine behind {@link WorkerPool}: the façade over the dispatcher, and the maintenance thread. */
public final class DefaultWorkerPool implements WorkerPool {
    private static final Logger LOG = LoggerFactory.getLogger(DefaultWorkerPool.class);
    /** The maintenance thread's longest sleep; it is also woken whenever a deadline may have moved closer. */
    private static final long MAINTENANCE_TICK_NANOS = TimeUnit.MILLISECONDS.toNanos(50);

    private final PoolConfig config;
    private final FrameCodec codec = new FrameCodec();
    private final PoolThreads threads;
    private final MemoryProbe memory = new MemoryProbe();
    private final EventBus events;
    private final DeadLetters deadLetters;
    private final Dispatcher dispatcher;
    private final Thread maintenance;
    private volatile boolean closed;

    private DefaultWorkerPool(PoolConfig config) {
        this.config = config;
        this.threads = new PoolThreads(config.name());
        this.maintenance = threads.newThread("maintenance", this::maintainLoop);
        this.events = new EventBus(runnable -> threads.newThread("events", runnable), config.listeners());
        this.deadLetters = new DeadLetters(config.deadLetterCapacity(), this::submitTask);
        WorkerLauncher launcher = (id, spec, listener) -> spec.worker() instanceof WorkerSpec.InProcess inProcess
                ? InProcessWorker.launch(id, inProcess,
                        Integer.parseInt(spec.environment().getOrDefault("PROCPOOL_MAX_CONCURRENCY", "1")),
                        config.maxFrameBytes(), codec, config.heartbeatInterval(), threads, listener)
                : WorkerProcess.launch(id, spec, codec, config.maxFrameBytes(), threads, listener);
        this.dispatcher = new Dispatcher(config, new Dispatcher.Collaborators(codec, launcher, memory,
                () -> ThreadLocalRandom.current().nextDouble(), events, Clock.systemUTC(),
                () -> LockSupport.unpark(maintenance)), deadLetters);
    }

    /**
     * Starts a pool and waits until every worker is ready.
     *
     * @throws IllegalArgumentException if a Java handler class is missing or unfit
     * @throws WorkerStartupException   if a worker cannot start; every worker launched is stopped first
     */
    public static DefaultWorkerPool start(PoolConfig config) {
        Objects.requireNonNull(config, "config");
        for (WorkerGroup group : config.groups()) {
            WorkerCommands.validate(group);
        }
        config.taskLogDirectory().ifPresent(TaskLogs::prepare);
        DefaultWorkerPool pool = new DefaultWorkerPool(config);
        OpenPools.add(pool);
        pool.maintenance.start();
        List<WorkerRecord> workers = pool.dispatcher.start();
        try {
            CompletableFuture.allOf(workers.stream().map(w -> w.ready).toArray(CompletableFuture[]::new))
                    // the maintenance thread enforces the startup timeout; this wait is only a backstop
                    .get(config.startupTimeout().plusSeconds(30).toMillis(), TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            pool.abortStart();
            throw e.getCause() instanceof WorkerStartupException startup
                    ? new WorkerStartupException("pool \"" + config.name() + "\" could not start: "
                    + startup.getMessage(), startup)
                    : new WorkerStartupException("pool \"" + config.name() + "\" could not start", e.getCause());
        } catch (TimeoutException e) {
            pool.abortStart();
            throw new WorkerStartupException("pool \"" + config.name() + "\" could not start: workers not ready "
                    + "within " + config.startupTimeout());
        } catch (InterruptedException e) {
            pool.abortStart();
            Thread.currentThread().interrupt();
            throw new WorkerStartupException("interrupted while starting pool \"" + config.name() + "\"", e);
        }
        pool.dispatcher.markRunning();
        LOG.info("pool {} started with {} workers", config.name(), workers.size());
        return pool;
    }

    private void abortStart() {
        shutdownNow();
        closed = true;
        OpenPools.remove(this);
    }

    @Override
    public String name() {
        return config.name();
    }

    @Override
    public PoolConfig config() {
        return config;
    }

    @Override
    public PoolState state() {
        return dispatcher.state();
    }

    @Override
    public TaskHandle submitTask(TaskRequest request) {
        Objects.requireNonNull(request, "request");
        byte[] payload;
        try {
            payload = codec.toJson(request.payload());
        } catch (JsonProcessingException e) {
            dispatcher.countRejected(TaskRejectedException.Kind.INVALID_PAYLOAD);
            throw new TaskRejectedException(TaskRejectedException.Kind.INVALID_PAYLOAD, "the payload of a \""
                    + request.type() + "\" task cannot be written as JSON: " + e.getOriginalMessage(), e);
        }
        long sequence = dispatcher.nextSequence();
        String id = request.id().orElseGet(() -> "t-" + sequence);
        int frameBytes = payload.length + FrameCodec.taskFrameOverhead(id, request.type());
        if (frameBytes > config.maxFrameBytes()) {
            dispatcher.countRejected(TaskRejectedException.Kind.PAYLOAD_TOO_LARGE);
            throw new TaskRejectedException(TaskRejectedException.Kind.PAYLOAD_TOO_LARGE, "the payload of task "
                    + id + " (" + request.type() + ") is " + payload.length + " bytes as JSON; with the frame it "
                    + "exceeds the pool's frame limit of " + config.maxFrameBytes() + " bytes (maxFrameBytes)");
        }
        long timeout = request.timeout().or(config::defaultTaskTimeout).map(Duration::toNanos).orElse(0L);
        TaskRecord task = new TaskRecord(id, request, payload, sequence, config.ticker().read(), timeout,
                request.retryPolicy().orElse(config.retryPolicy()));
        dispatcher.submit(task);
        return new DefaultTaskHandle(task, dispatcher);
    }

    @Override
    public List<WorkerSnapshot> workers() {
        return dispatcher.workerSnapshots();
    }

    @Override
    public Optional<WorkerSnapshot> worker(String workerId) {
        Objects.requireNonNull(workerId, "workerId");
        return dispatcher.workerSnapshots().stream().filter(w -> w.id().equals(workerId)).findFirst();
    }

    @Override
    public PoolSnapshot metrics() {
        return dispatcher.snapshot();
    }

    @Override
    public Optional<List<String>> taskOutput(String taskId, int maxLines) {
        Objects.requireNonNull(taskId, "taskId");
        if (maxLines < 1) {
            throw new IllegalArgumentException("maxLines must be positive, was " + maxLines);
        }
        return dispatcher.taskOutput(taskId, maxLines);
    }

    @Override
    public BatchResult submitAll(List<TaskRequest> requests, BatchListener listener) throws InterruptedException {
        Objects.requireNonNull(requests, "requests");
        int total = requests.size();
        AtomicInteger done = new AtomicInteger();
        AtomicInteger failed = new AtomicInteger();
        BatchResult.Outcome[] outcomes = new BatchResult.Outcome[total];
        CountDownLatch ended = new CountDownLatch(total);
        for (int i = 0; i < total; i++) {
            TaskRequest request = Objects.requireNonNull(requests.get(i), "requests must not contain null");
            int index = i;
            try {
                submitTask(request).future().whenComplete((result, error) -> {
                    Throwable cause = error instanceof java.util.concurrent.CompletionException ? error.getCause()
                            : error;
                    outcomes[index] = new BatchResult.Outcome(request, result, cause == null ? null
                            : cause instanceof ProcPoolException p ? p : new ProcPoolException(cause.toString(), cause));
                    batchProgress(listener, done.incrementAndGet(), cause == null ? failed.get()
                            : failed.incrementAndGet(), total);
                    ended.countDown();
                });
            } catch (TaskRejectedException rejected) {
                outcomes[index] = new BatchResult.Outcome(request, null, rejected);
                batchProgress(listener, done.incrementAndGet(), failed.incrementAndGet(), total);
                ended.countDown();
            }
        }
        ended.await();
        return new BatchResult(List.of(outcomes));
    }

    private static void batchProgress(BatchListener listener, int done, int failed, int total) {
        if (listener != null) {
            try {
                listener.onProgress(done, failed, total);
            } catch (RuntimeException e) {
                LOG.warn("batch listener failed", e);
            }
        }
    }

    /** Where the dispatcher reports timings; for the Micrometer binder. */
    public void instruments(Instruments instruments) {
        dispatcher.instruments(Objects.requireNonNull(instruments, "instruments"));
    }

    /** Exact counters, for the Micrometer binder. */
    public CounterView counters() {
        Dispatcher.Counters c = dispatcher.counters();
        return new CounterView(c.submitted, c.succeeded, c.failed, c.deadLettered, c.cancelled, c.retried,
                c.workersStarted, c.restarts, c.zombies, Map.copyOf(c.failuresByReason),
                Map.copyOf(c.restartsByReason), Map.copyOf(c.rejectedByKind), deadLetters.added(),
                deadLetters.evicted());
    }

    /** A copy of the pool's running totals. */
    public record CounterView(long submitted, long succeeded, long failed, long deadLettered, long cancelled,
                              long retried, long workersStarted, long restarts, long zombies,
                              Map<dev.procpool.FailureReason, Long> attemptFailures,
                              Map<dev.procpool.FailureReason, Long> restartsByReason,
                              Map<TaskRejectedException.Kind, Long> rejected, long deadLettersAdded,
                              long deadLettersEvicted) {
    }

    @Override
    public void scaleUp(String group, int count) {
        if (count < 1) {
            throw new IllegalArgumentException("count must be positive, was " + count);
        }
        dispatcher.scale(Objects.requireNonNull(group, "group"), count);
    }

    @Override
    public void scaleDown(String group, int count) {
        if (count < 1) {
            throw new IllegalArgumentException("count must be positive, was " + count);
        }
        dispatcher.scale(Objects.requireNonNull(group, "group"), -count);
    }

    @Override
    public DeadLetterQueue deadLetters() {
        return deadLetters;
    }

    @Override
    public PoolHealth health() {
        return dispatcher.health();
    }

    @Override
    public void addListener(PoolListener listener) {
        events.add(Objects.requireNonNull(listener, "listener"));
    }

    @Override
    public boolean removeListener(PoolListener listener) {
        return events.remove(listener);
    }

    @Override
    public void shutdown() {
        dispatcher.shutdown();
    }

    @Override
    public List<TaskRequest> shutdownNow() {
        List<TaskRequest> neverStarted = dispatcher.shutdownNow();
        awaitWorkersGone();
        return neverStarted;
    }

    @Override
    public boolean awaitTermination(Duration timeout) throws InterruptedException {
        return dispatcher.awaitTermination(timeout.toNanos());
    }

    /**
     * Drains and stops the pool. Several callers may close it at once (the JVM shutdown hook, a host's own hook, a
     * container's context): one drains, the others wait until the pool has terminated, and none stops what the
     * draining one lets finish.
     */
    @Override
    public void close() {
        if (!claimClose()) {
            awaitClosedByAnother();
            return;
        }
        try {
            dispatcher.shutdown();
            if (!dispatcher.awaitTermination(config.shutdownTimeout().toNanos())) {
                LOG.warn("pool {} did not drain within {}; stopping its tasks", name(), config.shutdownTimeout());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            shutdownNow();
            OpenPools.remove(this);
            events.close();
        }
    }

    /** True for the one caller that closes the pool. */
    private synchronized boolean claimClose() {
        if (closed) {
            return false;
        }
        closed = true;
        return true;
    }

    /**
     * Waits while another {@code close()} drains and stops the pool, at most as long as that close may take (the
     * drain, the stop escalation, a margin): waiting kills nothing.
     */
    private void awaitClosedByAnother() {
        Duration bound = config.shutdownTimeout().plus(config.stopGracePeriod().multipliedBy(3)).plusSeconds(10);
        try {
            if (!dispatcher.awaitTermination(bound.toNanos())) {
                LOG.warn("pool {}: close() returns after {} while another close() still stops the pool", name(),
                        bound);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * Waits, bounded, until every worker has exited: the maintenance thread escalates stops (SIGTERM, then
     * SIGKILL after a grace period each), so three grace periods plus a margin suffice; any process left after
     * that is killed here.
     */
    private void awaitWorkersGone() {
        long bound = config.stopGracePeriod().multipliedBy(3).plusSeconds(5).toNanos();
        try {
            if (dispatcher.awaitTermination(bound)) {
                return;
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        List<WorkerConnection> left = dispatcher.connections();
        LOG.error("pool {}: {} workers still running after {}; killing them", name(), left.size(),
                Duration.ofNanos(bound));
        left.forEach(WorkerConnection::kill);
    }

    /**
     * The JVM is shutting down and this pool stops at once ({@code jvmShutdown STOP}): every task is cancelled, so
     * none is retried, and every worker is killed with its children.
     */
    void killWorkersAtExit() {
        claimClose();
        dispatcher.shutdownNow();
        for (WorkerConnection worker : dispatcher.connections()) {
            worker.closeStdin();
            worker.kill();
        }
    }

    private void maintainLoop() {
        long rssEvery = config.heartbeatInterval().toNanos();
        long lastRss = Long.MIN_VALUE / 2;
        while (dispatcher.state() != PoolState.TERMINATED) {
            try {
                long now = config.ticker().read();
                if (now - lastRss >= rssEvery) {
                    lastRss = now;
                    sampleRss();
                }
                dispatcher.maintain(now);
            } catch (RuntimeException e) {
                LOG.error("procpool: maintenance of pool {} failed", name(), e);
            }
            // the periodic tick, or earlier when a retry or a worker start falls due before it
            long now = config.ticker().read();
            long due = dispatcher.nextDueAfter(now);
            long wait = due == Long.MAX_VALUE ? MAINTENANCE_TICK_NANOS
                    : Math.max(0, Math.min(MAINTENANCE_TICK_NANOS, due - now)); // differences, as nanoTime wraps
            LockSupport.parkNanos(this, wait);
        }
    }

    /** Reads every worker's RSS from /proc, so memory limits work for workers in any language. */
    private void sampleRss() {
        Map<String, Long> rss = new HashMap<>();
        dispatcher.workerPids().forEach((id, pid) -> rss.put(id, memory.residentBytes(pid)));
        dispatcher.recordRss(rss);
    }

    @Override
    public String toString() {
        return "WorkerPool{" + name() + ", " + state() + '}';
    }

}
