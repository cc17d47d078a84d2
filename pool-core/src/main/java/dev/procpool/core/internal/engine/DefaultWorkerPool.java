package dev.procpool.core.internal.engine;

import dev.procpool.BatchListener;
import dev.procpool.BatchResult;
import dev.procpool.DeadLetterQueue;
import dev.procpool.PayloadCodec;
import dev.procpool.PoolSnapshot;
import dev.procpool.ProcPoolException;
import dev.procpool.PoolConfig;
import dev.procpool.PoolHealth;
import dev.procpool.PoolListener;
import dev.procpool.PoolState;
import dev.procpool.TaskHandle;
import dev.procpool.TaskInfo;
import dev.procpool.TaskStore;
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
import dev.procpool.core.internal.process.ProcStat;
import dev.procpool.core.internal.process.WorkerConnection;
import dev.procpool.core.internal.process.WorkerLauncher;
import dev.procpool.core.internal.process.WorkerProcess;
import dev.procpool.core.internal.retry.DeadLetters;
import dev.procpool.core.internal.protocol.FrameCodec;
import dev.procpool.core.internal.protocol.FrameLimitException;
import dev.procpool.core.internal.protocol.Payloads;
import dev.procpool.core.internal.text.Units;
import dev.procpool.core.internal.Loggers;
import org.slf4j.Logger;

import java.io.IOException;
import java.time.Clock;
import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Set;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletionException;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.locks.LockSupport;

/** The engine behind {@link WorkerPool}: the façade over the engine, the maintenance thread and the effects thread. */
public final class DefaultWorkerPool implements WorkerPool {
    private static final Logger LOG = Loggers.pool();

    private final PoolConfig config;
    private final FrameCodec codec = new FrameCodec();
    private final PoolThreads threads;
    private final MemoryProbe memory = new MemoryProbe();
    private final EventBus events;
    private final DeadLetters deadLetters;
    private final Engine engine;
    /** Every in-memory handle's way to cancel its task: one instance, not one per task. */
    private final java.util.function.Predicate<TaskRecord> cancelInEngine;
    /** The tasks' durable store, or null when they live in memory. */
    private final DurableTasks durable;
    private final Thread maintenance;
    /** Launches, signals, /proc reads and task-log writes: never on a worker's reader thread. */
    private final ExecutorService slowEffects;
    /** How often maintenance has run; tests check that it sleeps until something is due. */
    private final AtomicLong maintenanceRuns = new AtomicLong();
    private volatile boolean closed;

    private DefaultWorkerPool(PoolConfig config) {
        this.config = config;
        this.threads = new PoolThreads(config.name());
        this.maintenance = threads.newThread("maintenance", this::maintainLoop);
        this.events = new EventBus(runnable -> threads.newThread("events", runnable), config.listeners());
        this.deadLetters = new DeadLetters(config.deadLetterCapacity(), config.deadLetterMaxBytes(), this::submitTask);
        WorkerLauncher launcher = (id, spec, listener) -> spec.worker() instanceof WorkerSpec.InProcess inProcess
                ? InProcessWorker.launch(id, inProcess,
                        Integer.parseInt(spec.environment().getOrDefault("PROCPOOL_MAX_CONCURRENCY", "1")),
                        config.maxFrameBytes(), codec, config.heartbeatInterval(), threads, listener)
                : WorkerProcess.launch(id, spec, codec, config.maxFrameBytes(), threads, listener);
        this.slowEffects = Executors.newSingleThreadExecutor(runnable -> threads.newThread("effects", runnable));
        this.engine = new Engine(config, new Engine.Collaborators(codec, launcher, memory,
                () -> ThreadLocalRandom.current().nextDouble(), events, Clock.systemUTC(), slowEffects,
                () -> LockSupport.unpark(maintenance)), deadLetters);
        this.cancelInEngine = engine::cancel;
        this.durable = config.taskStore() instanceof TaskStore.Durable store
                ? new DurableTasks(config, store, engine, threads) : null;
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
        pool.engine.trackers().poolCreated(pool); // before any thread or worker: a refusal leaves nothing to undo
        try {
            pool.openStore();
        } catch (ProcPoolException e) {
            pool.abortStart();
            throw e;
        }
        OpenPools.add(pool);
        pool.maintenance.start();
        List<WorkerRecord> workers = pool.engine.start();
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
                    + "within " + Units.duration(config.startupTimeout()));
        } catch (InterruptedException e) {
            pool.abortStart();
            Thread.currentThread().interrupt();
            throw new WorkerStartupException("interrupted while starting pool \"" + config.name() + "\"", e);
        }
        pool.engine.markRunning();
        if (pool.durable != null) {
            pool.durable.wakeRunner(); // the workers are ready: claim what the store holds for them
        }
        LOG.info("pool {} started with {} workers{}", config.name(), workers.size(),
                pool.durable == null ? "" : " on a " + pool.durable.kind() + " task store");
        return pool;
    }

    /**
     * Opens the durable store, if there is one, before any worker starts: creates or migrates its schema and
     * registers this host.
     *
     * @throws ProcPoolException if the store cannot be opened
     */
    private void openStore() {
        if (durable == null) {
            return;
        }
        try {
            durable.open();
        } catch (RuntimeException e) {
            throw new ProcPoolException("pool \"" + config.name() + "\" could not open its " + durable.kind()
                    + " task store: " + e.getMessage(), e);
        }
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
        return engine.state();
    }

    @Override
    public TaskHandle submitTask(TaskRequest request) {
        TaskRecord task = prepare(request);
        if (durable != null) {
            engine.storeLink().checkSubmit(task);
            return durable.submit(List.of(task)).get(0);
        }
        engine.submit(task);
        return new DefaultTaskHandle(task, cancelInEngine);
    }

    /**
     * The task record of a request, once its payload is known to travel: written as JSON, within the frame limits.
     * A request without an id gets one: {@code t-<n>} in memory, unique among the pool's tasks; a random
     * {@code t-<uuid>} with a durable store, unique among every host's.
     */
    private TaskRecord prepare(TaskRequest request) {
        Objects.requireNonNull(request, "request");
        byte[] payload;
        PayloadCodec payloads = Payloads.forPool(config); // the application's, if it set one; frames never use it
        try {
            payload = Payloads.write(payloads, request.payload());
        } catch (IOException | RuntimeException e) { // the codec may be the application's
            engine.countRejected(TaskRejectedException.Kind.INVALID_PAYLOAD);
            throw new TaskRejectedException(TaskRejectedException.Kind.INVALID_PAYLOAD, "the payload of a \""
                    + request.type() + "\" task (" + Payloads.typeOf(request.payload()) + ") cannot be written as "
                    + "JSON by " + payloads + ": " + e.getMessage(), e);
        }
        try {
            codec.checkValue(payload); // what the workers' answers could not carry back, the pool does not send
        } catch (FrameLimitException e) {
            engine.countRejected(TaskRejectedException.Kind.INVALID_PAYLOAD);
            throw new TaskRejectedException(TaskRejectedException.Kind.INVALID_PAYLOAD, "the payload of a \""
                    + request.type() + "\" task cannot travel in a frame: " + e.getMessage(), e);
        }
        long sequence = engine.nextSequence();
        String id = request.id().orElseGet(() -> durable == null ? "t-" + sequence : "t-" + UUID.randomUUID());
        int frameBytes = payload.length + FrameCodec.taskFrameOverhead(id, request.type());
        if (frameBytes > config.maxFrameBytes()) {
            engine.countRejected(TaskRejectedException.Kind.PAYLOAD_TOO_LARGE);
            throw new TaskRejectedException(TaskRejectedException.Kind.PAYLOAD_TOO_LARGE, "the payload of task "
                    + id + " (" + request.type() + ") is " + payload.length + " bytes as JSON; with the frame it "
                    + "exceeds the pool's frame limit of " + config.maxFrameBytes() + " bytes (maxFrameBytes)");
        }
        long timeout = request.timeout().or(config::defaultTaskTimeout).map(Duration::toNanos).orElse(0L);
        return new TaskRecord(id, request, payload, sequence, config.ticker().read(), timeout,
                request.retryPolicy().orElse(config.retryPolicy()));
    }

    @Override
    public Optional<TaskInfo> task(String taskId) {
        Objects.requireNonNull(taskId, "taskId");
        return durable != null ? durable.task(taskId) : engine.task(taskId);
    }

    @Override
    public Optional<TaskHandle> handle(String taskId) {
        Objects.requireNonNull(taskId, "taskId");
        return durable != null ? durable.handle(taskId) : engine.handle(taskId);
    }

    @Override
    public List<WorkerSnapshot> workers() {
        return engine.workerSnapshots();
    }

    @Override
    public Optional<WorkerSnapshot> worker(String workerId) {
        Objects.requireNonNull(workerId, "workerId");
        return engine.workerSnapshots().stream().filter(w -> w.id().equals(workerId)).findFirst();
    }

    @Override
    public PoolSnapshot snapshot() {
        return engine.snapshot();
    }

    @Override
    public Optional<List<String>> taskOutput(String taskId, int maxLines) {
        Objects.requireNonNull(taskId, "taskId");
        if (maxLines < 1) {
            throw new IllegalArgumentException("maxLines must be positive, was " + maxLines);
        }
        return engine.taskOutput(taskId, maxLines);
    }

    /**
     * Submits every request and waits until each has ended. With a durable store the batch is stored in one
     * transaction: if the store cannot take it, every task of it is rejected ({@code STORE_UNAVAILABLE}).
     */
    @Override
    public BatchResult submitAll(List<TaskRequest> requests, BatchListener listener) throws InterruptedException {
        Objects.requireNonNull(requests, "requests");
        int total = requests.size();
        Batch batch = new Batch(requests, listener);
        List<TaskRecord> storing = new ArrayList<>();
        List<Integer> storingAt = new ArrayList<>();
        for (int i = 0; i < total; i++) {
            TaskRequest request = Objects.requireNonNull(requests.get(i), "requests must not contain null");
            try {
                TaskRecord task = prepare(request);
                if (durable != null) {
                    engine.storeLink().checkSubmit(task);
                    storing.add(task);
                    storingAt.add(i);
                } else {
                    engine.submit(task);
                    batch.follow(i, new DefaultTaskHandle(task, cancelInEngine));
                }
            } catch (TaskRejectedException rejected) {
                batch.rejected(i, rejected);
            }
        }
        if (!storing.isEmpty()) {
            try {
                List<TaskHandle> handles = durable.submit(storing);
                for (int k = 0; k < handles.size(); k++) {
                    batch.follow(storingAt.get(k), handles.get(k));
                }
            } catch (TaskRejectedException rejected) {
                storingAt.forEach(i -> batch.rejected(i, rejected));
            }
        }
        return batch.await();
    }

    /** The outcomes of a {@code submitAll} as its tasks end, with progress for its listener. */
    private static final class Batch {
        private final List<TaskRequest> requests;
        private final BatchListener listener;
        private final BatchResult.Outcome[] outcomes;
        private final CountDownLatch ended;
        private final AtomicInteger done = new AtomicInteger();
        private final AtomicInteger failed = new AtomicInteger();

        Batch(List<TaskRequest> requests, BatchListener listener) {
            this.requests = requests;
            this.listener = listener;
            this.outcomes = new BatchResult.Outcome[requests.size()];
            this.ended = new CountDownLatch(requests.size());
        }

        void follow(int index, TaskHandle handle) {
            handle.future().whenComplete((result, error) -> {
                Throwable cause = error instanceof CompletionException ? error.getCause() : error;
                end(index, new BatchResult.Outcome(requests.get(index), result, cause == null ? null
                        : cause instanceof ProcPoolException p ? p : new ProcPoolException(cause.toString(), cause)));
            });
        }

        void rejected(int index, TaskRejectedException rejected) {
            end(index, new BatchResult.Outcome(requests.get(index), null, rejected));
        }

        private void end(int index, BatchResult.Outcome outcome) {
            outcomes[index] = outcome;
            batchProgress(listener, done.incrementAndGet(), outcome.failure() == null ? failed.get()
                    : failed.incrementAndGet(), requests.size());
            ended.countDown();
        }

        BatchResult await() throws InterruptedException {
            ended.await();
            return new BatchResult(List.of(outcomes));
        }
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

    @Override
    public void scaleUp(String group, int count) {
        if (count < 1) {
            throw new IllegalArgumentException("count must be positive, was " + count);
        }
        engine.scale(Objects.requireNonNull(group, "group"), count);
    }

    @Override
    public void scaleDown(String group, int count) {
        if (count < 1) {
            throw new IllegalArgumentException("count must be positive, was " + count);
        }
        engine.scale(Objects.requireNonNull(group, "group"), -count);
    }

    @Override
    public DeadLetterQueue deadLetters() {
        return durable != null ? durable.deadLetters() : deadLetters;
    }

    @Override
    public PoolHealth health() {
        return engine.health();
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
        engine.shutdown();
    }

    @Override
    public List<TaskRequest> shutdownNow() {
        List<TaskRequest> neverStarted = engine.shutdownNow();
        awaitWorkersGone();
        if (durable != null) {
            durable.close(); // after the workers: what they answered is recorded first
        }
        return neverStarted;
    }

    @Override
    public boolean awaitTermination(Duration timeout) throws InterruptedException {
        return engine.awaitTermination(timeout.toNanos());
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
            engine.shutdown();
            if (!engine.awaitTermination(config.shutdownTimeout().toNanos())) {
                LOG.warn("pool {} did not drain within {}; stopping its tasks", name(),
                        Units.duration(config.shutdownTimeout()));
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
            if (!engine.awaitTermination(bound.toNanos())) {
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
            if (engine.awaitTermination(bound)) {
                return;
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        List<WorkerConnection> left = engine.connections();
        LOG.error("pool {}: {} workers still running after {}; killing them", name(), left.size(),
                Units.nanos(bound));
        left.forEach(WorkerConnection::kill);
    }

    /**
     * The JVM is shutting down and this pool stops at once ({@code jvmShutdown STOP}): every task is cancelled, so
     * none is retried, and every worker is killed with its children.
     */
    void killWorkersAtExit() {
        claimClose();
        engine.shutdownNow();
        for (WorkerConnection worker : engine.connections()) {
            worker.closeStdin();
            worker.kill();
        }
        if (durable != null) {
            durable.close(); // releases this host's leases: another host takes the tasks over at once
        }
    }

    /**
     * Runs maintenance when it is due, as {@link Engine#maintain(long)} says, and samples the workers' resident memory
     * from /proc every heartbeat interval; parks in between (woken early when something falls due sooner).
     */
    private void maintainLoop() {
        long rssEvery = config.heartbeatInterval().toNanos();
        long nextRss = config.ticker().read();
        while (engine.state() != PoolState.TERMINATED) {
            long wait = rssEvery;
            try {
                long now = config.ticker().read();
                if (now - nextRss >= 0) {
                    nextRss = now + rssEvery;
                    sampleRss();
                }
                maintenanceRuns.incrementAndGet();
                long delay = engine.maintain(now);
                wait = Math.min(delay, nextRss - config.ticker().read()); // differences, as nanoTime wraps
            } catch (RuntimeException e) {
                LOG.error("procpool: maintenance of pool {} failed", name(), e);
            }
            LockSupport.parkNanos(this, Math.max(0, wait));
        }
        slowEffects.shutdown(); // what is queued still runs; later effects run where they are decided
    }

    /** How often maintenance has run so far. */
    long maintenanceRuns() {
        return maintenanceRuns.get();
    }

    /**
     * Reads every worker's RSS from /proc, so memory limits work for workers in any language, and which workers are
     * stopped (SIGSTOP): one stopped before it is ready would otherwise hold its place for the whole start-up timeout.
     */
    private void sampleRss() {
        Map<String, Long> rss = new HashMap<>();
        Set<String> stopped = new HashSet<>();
        engine.workerPids().forEach((id, pid) -> {
            rss.put(id, memory.residentBytes(pid));
            if (ProcStat.read(pid).filter(ProcStat::isStopped).isPresent()) {
                stopped.add(id);
            }
        });
        engine.recordSamples(rss, stopped);
    }

    @Override
    public String toString() {
        return "WorkerPool{" + name() + ", " + state() + '}';
    }

}
