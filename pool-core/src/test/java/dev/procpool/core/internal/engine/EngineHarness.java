package dev.procpool.core.internal.engine;

import com.fasterxml.jackson.core.JsonProcessingException;
import dev.procpool.PoolConfig;
import dev.procpool.PoolEvent;
import dev.procpool.TaskFailedException;
import dev.procpool.TaskRequest;
import dev.procpool.WorkerGroup;
import dev.procpool.WorkerSnapshot;
import dev.procpool.core.internal.events.EventBus;
import dev.procpool.core.internal.protocol.FrameCodec;
import dev.procpool.core.internal.retry.DeadLetters;

import java.io.UncheckedIOException;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.function.UnaryOperator;

import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * A {@link Engine} wired as {@code DefaultWorkerPool} wires it, but with fake time, fake processes, a fake memory
 * probe and a fixed random number: everything happens on the test's thread, so tests assert right after each step.
 */
final class EngineHarness implements AutoCloseable {
    /** The fixed "random" number: with it, jitter is exactly zero and recycling limits shrink by 5 %. */
    static final double RANDOM = 0.5;

    final FakeTicker ticker = new FakeTicker();
    final FrameCodec codec = new FrameCodec();
    final FakeWorkers workers = new FakeWorkers(codec);
    final FakeMemoryProbe memory = new FakeMemoryProbe();
    final List<PoolEvent> events = new CopyOnWriteArrayList<>();
    final EventBus bus;
    final PoolConfig config;
    final DeadLetters deadLetters;
    /** How often the engine woke its maintenance thread. */
    final java.util.concurrent.atomic.AtomicInteger wakes = new java.util.concurrent.atomic.AtomicInteger();
    final Engine engine;

    EngineHarness(WorkerGroup group, UnaryOperator<PoolConfig.Builder> settings) {
        this.config = settings.apply(PoolConfig.builder().name("unit").group(group).ticker(ticker)).build();
        this.bus = new EventBus(runnable -> {
            Thread thread = new Thread(runnable, "procpool-unit-events");
            thread.setDaemon(true);
            return thread;
        }, List.of(events::add));
        this.deadLetters = new DeadLetters(config.deadLetterCapacity(), config.deadLetterMaxBytes(), request -> {
            throw new UnsupportedOperationException("redrive is not wired in engine unit tests");
        });
        // slow effects run on the test's thread, so each step's effects are done when the step returns
        this.engine = new Engine(config, new Engine.Collaborators(codec, workers, memory, () -> RANDOM,
                bus, Clock.systemUTC(), Runnable::run, wakes::incrementAndGet), deadLetters);
    }

    EngineHarness(WorkerGroup group) {
        this(group, b -> b);
    }

    /** Launches the workers without readying them. */
    EngineHarness start() {
        engine.start();
        return this;
    }

    /** Launches the workers, has each send ready, and marks the pool running, as DefaultWorkerPool.start does. */
    EngineHarness startReady() {
        List<WorkerRecord> started = engine.start();
        for (WorkerRecord worker : started) {
            workers.get(worker.id).ready();
        }
        for (WorkerRecord worker : started) {
            assertTrue(worker.ready.isDone() && !worker.ready.isCompletedExceptionally(), worker + " is not ready");
        }
        engine.markRunning();
        return this;
    }

    /** As {@link #startReady()}, with each worker announcing that it runs up to {@code maxConcurrency} tasks at once. */
    EngineHarness startReady(int maxConcurrency) {
        List<WorkerRecord> started = engine.start();
        for (WorkerRecord worker : started) {
            workers.get(worker.id).ready(List.of(), maxConcurrency);
        }
        for (WorkerRecord worker : started) {
            assertTrue(worker.ready.isDone() && !worker.ready.isCompletedExceptionally(), worker + " is not ready");
        }
        engine.markRunning();
        return this;
    }

    /** Builds and submits a task as {@code DefaultWorkerPool.submitTask} does. */
    TaskRecord submit(TaskRequest request) {
        byte[] payload;
        try {
            payload = codec.toJson(request.payload());
        } catch (JsonProcessingException e) {
            throw new UncheckedIOException(e);
        }
        long sequence = engine.nextSequence();
        String id = request.id().orElseGet(() -> "t-" + sequence);
        long timeout = request.timeout().or(config::defaultTaskTimeout).map(Duration::toNanos).orElse(0L);
        TaskRecord task = new TaskRecord(id, request, payload, sequence, config.ticker().read(), timeout,
                request.retryPolicy().orElse(config.retryPolicy()));
        engine.submit(task);
        return task;
    }

    TaskRecord submit(String id) {
        return submit(TaskRequest.of("work", id).withId(id));
    }

    /** Sets the fake time and runs maintenance at it, as the maintenance thread does. */
    long maintainAt(long now) {
        ticker.set(now);
        engine.maintain(now);
        return now;
    }

    /** Advances the fake time and runs maintenance. */
    long advance(Duration by) {
        return maintainAt(ticker.read() + by.toNanos());
    }

    long now() {
        return ticker.read();
    }

    WorkerSnapshot snapshot(String workerId) {
        return engine.workerSnapshots().stream().filter(w -> w.id().equals(workerId)).findFirst()
                .orElseThrow(() -> new AssertionError("no worker " + workerId + " in "
                        + engine.workerSnapshots()));
    }

    boolean hasWorker(String workerId) {
        return engine.workerSnapshots().stream().anyMatch(w -> w.id().equals(workerId));
    }

    /** The failure a task's future completed with; fails the test if it is not done or succeeded. */
    static TaskFailedException failure(TaskRecord task) {
        return failure(task.future);
    }

    static TaskFailedException failure(CompletableFuture<?> future) {
        assertTrue(future.isDone(), "the future is not complete");
        try {
            future.get();
        } catch (ExecutionException e) {
            return assertInstanceOf(TaskFailedException.class, e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
        return fail("the future succeeded: " + future.join());
    }

    @Override
    public void close() {
        bus.close();
    }
}
