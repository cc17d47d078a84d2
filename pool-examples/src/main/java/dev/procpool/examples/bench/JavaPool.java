package dev.procpool.examples.bench;

import com.fasterxml.jackson.databind.JsonNode;
import dev.procpool.TaskHandle;
import dev.procpool.TaskResult;
import dev.procpool.WorkerPool;
import dev.procpool.WorkerSnapshot;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * procpool or the sketch, as the peer workloads drive them: submit a task, then join it. {@code H} is the system's
 * own handle, so that a round trip costs what it costs through that system's API and nothing more.
 */
interface JavaPool<H> extends AutoCloseable {
    H submit(String type, Object payload);

    /** The task's value. */
    Object join(H handle) throws Exception;

    Object join(H handle, Duration timeout) throws Exception;

    String text(Object value);

    /** A task whose answer tells which worker answered it (W5). */
    H submitWhoAnswers();

    long answeredBy(Object value);

    /** How many attempts the task took: procpool says; the sketch re-sends a dead worker's tasks itself (1). */
    int attempts(Object value);

    /** The worker to kill in W5: one that served the warm-up, never a hot spare. */
    long victim();

    void awaitIdle();

    List<Long> workerPids();

    /** Every worker process seen so far: {pid, start ticks}. */
    List<long[]> processes();

    @Override
    void close();

    /** procpool through its public API. */
    final class Procpool implements JavaPool<TaskHandle> {
        private final WorkerPool pool;
        private final Map<Long, Long> seen = new LinkedHashMap<>();

        Procpool(WorkerPool pool) {
            this.pool = pool;
            workerPids();
        }

        @Override
        public TaskHandle submit(String type, Object payload) {
            return pool.submitTask(type, payload);
        }

        @Override
        public Object join(TaskHandle handle) {
            return handle.join();
        }

        @Override
        public Object join(TaskHandle handle, Duration timeout) throws Exception {
            return handle.future().get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        }

        @Override
        public String text(Object value) {
            return ((TaskResult) value).as(String.class);
        }

        @Override
        public TaskHandle submitWhoAnswers() {
            return pool.submitTask(BenchHandler.ECHO, "who");
        }

        @Override
        public long answeredBy(Object value) {
            long pid = ((TaskResult) value).workerPid();
            seen.putIfAbsent(pid, Procs.startTicks(pid));
            return pid;
        }

        @Override
        public int attempts(Object value) {
            return ((TaskResult) value).attempt();
        }

        @Override
        public long victim() {
            return BenchContext.awaitAllIdle(pool).stream().filter(w -> w.tasksServed() > 0).findFirst()
                    .orElseThrow(() -> new IllegalStateException("no worker served the warm-up")).pid();
        }

        @Override
        public void awaitIdle() {
            workerPids();
            BenchContext.awaitAllIdle(pool);
        }

        @Override
        public List<Long> workerPids() {
            List<Long> pids = pool.workers().stream().map(WorkerSnapshot::pid).toList();
            pids.forEach(pid -> seen.putIfAbsent(pid, Procs.startTicks(pid)));
            return pids;
        }

        @Override
        public List<long[]> processes() {
            workerPids();
            return seen.entrySet().stream().map(e -> new long[] {e.getKey(), e.getValue()}).toList();
        }

        @Override
        public void close() {
            workerPids();
            pool.close();
        }
    }

    /** The sketch ({@link SketchPool}). */
    record Sketch(SketchPool pool) implements JavaPool<CompletableFuture<JsonNode>> {
        @Override
        public CompletableFuture<JsonNode> submit(String type, Object payload) {
            return pool.submit(type, payload);
        }

        @Override
        public Object join(CompletableFuture<JsonNode> handle) {
            return handle.join();
        }

        @Override
        public Object join(CompletableFuture<JsonNode> handle, Duration timeout) throws Exception {
            return handle.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        }

        @Override
        public String text(Object value) {
            return ((JsonNode) value).asText();
        }

        @Override
        public CompletableFuture<JsonNode> submitWhoAnswers() {
            return pool.submit(SketchWorker.PID, null);
        }

        @Override
        public long answeredBy(Object value) {
            return ((JsonNode) value).asLong();
        }

        @Override
        public int attempts(Object value) {
            return 1;
        }

        @Override
        public long victim() {
            return pool.workerPids().get(0);
        }

        @Override
        public void awaitIdle() {
            // every task was answered: the sketch has nothing else to wait for
        }

        @Override
        public List<Long> workerPids() {
            return pool.workerPids();
        }

        @Override
        public List<long[]> processes() {
            return pool.processes();
        }

        @Override
        public void close() {
            pool.close();
        }
    }
}
