package dev.procpool.examples.bench;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.BufferedOutputStream;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * "The sketch": the minimal JSON-lines worker pool that issue 15 measures procpool against, as a throwaway
 * program would write it. One reader thread per worker completes futures kept by task id in a map; Jackson writes
 * and reads every line on both sides ({@link SketchWorker} is the worker); tasks go to the workers round robin and
 * are written at once, however many are already in flight (unbounded pipelining). No priorities, no heartbeats,
 * no timeouts, no limits. A worker whose stdout ends is replaced at once, by a hot spare when there is one, and
 * the tasks it had are sent to its successor.
 *
 * <p>Thread-safe. It is a baseline, not a library: it trusts its workers.
 */
final class SketchPool implements AutoCloseable {
    /** A task as it goes on the wire. */
    private record Task(long id, String type, Object payload) {
    }

    /** A place for one worker; its worker changes when one dies. */
    private static final class Slot {
        volatile Worker current;
    }

    private final ObjectMapper mapper = new ObjectMapper();
    private final List<String> command;
    private final Slot[] slots;
    private final Deque<Worker> spares = new ArrayDeque<>(); // guarded by itself
    private final Map<Long, CompletableFuture<JsonNode>> futures = new ConcurrentHashMap<>();
    private final AtomicLong ids = new AtomicLong();
    private final AtomicInteger next = new AtomicInteger();
    /** Every worker this pool started, for close() and for the harness's check that none is left behind. */
    private final List<Worker> started = new ArrayList<>(); // guarded by itself
    private volatile boolean closed;

    /** Starts {@code workers} worker processes plus {@code spares} hot spares; returns without waiting for them. */
    SketchPool(List<String> command, int workers, int spares) throws IOException {
        this.command = List.copyOf(command);
        this.slots = new Slot[workers];
        for (int i = 0; i < workers; i++) {
            slots[i] = new Slot();
            Worker worker = start();
            worker.slot = slots[i];
            slots[i].current = worker;
        }
        for (int i = 0; i < spares; i++) {
            this.spares.add(start());
        }
    }

    /** Sends a task to the next worker; the future completes with the worker's {@code result}. */
    CompletableFuture<JsonNode> submit(String type, Object payload) {
        long id = ids.incrementAndGet();
        CompletableFuture<JsonNode> future = new CompletableFuture<>();
        byte[] line;
        try {
            line = mapper.writeValueAsBytes(new Task(id, type, payload));
        } catch (JsonProcessingException e) {
            future.completeExceptionally(e);
            return future;
        }
        if (closed) {
            future.completeExceptionally(new IllegalStateException("the sketch pool is closed"));
            return future;
        }
        futures.put(id, future);
        Slot slot = slots[Math.floorMod(next.getAndIncrement(), slots.length)];
        while (!slot.current.send(id, line)) {
            Thread.onSpinWait(); // its worker just died; the successor is being put in place
        }
        return future;
    }

    /** The pids of the current workers, slot by slot. */
    List<Long> workerPids() {
        List<Long> pids = new ArrayList<>();
        for (Slot slot : slots) {
            pids.add(slot.current.process.pid());
        }
        return pids;
    }

    /** Every process this pool started, as {@code {pid, start time in clock ticks}}. */
    List<long[]> processes() {
        synchronized (started) {
            return started.stream().map(w -> new long[] {w.process.pid(), w.startTicks}).toList();
        }
    }

    /** Ends every worker's stdin, so that they exit, and waits for them (killing any still there after 60 s). */
    @Override
    public void close() {
        closed = true;
        List<Worker> all;
        synchronized (started) {
            all = List.copyOf(started);
        }
        for (Worker worker : all) {
            worker.endInput();
        }
        for (Worker worker : all) {
            try {
                if (!worker.process.waitFor(60, TimeUnit.SECONDS)) {
                    worker.process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
                }
            } catch (InterruptedException e) {
                worker.process.destroyForcibly();
                Thread.currentThread().interrupt();
            }
        }
        futures.values().forEach(f -> f.completeExceptionally(new IllegalStateException("the sketch pool closed")));
    }

    private Worker start() throws IOException {
        Process process = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.INHERIT).start();
        Worker worker = new Worker(process);
        synchronized (started) {
            started.add(worker);
        }
        Thread reader = new Thread(worker::read, "sketch-reader-" + process.pid());
        reader.setDaemon(true);
        reader.start();
        return worker;
    }

    /** A worker's stdout ended: put its successor in its slot and give it the tasks the dead one had. */
    private void died(Worker worker) {
        List<Long> orphans;
        synchronized (worker) {
            worker.dead = true;
            orphans = worker.outstanding.keySet().stream().sorted().toList();
        }
        Slot slot = worker.slot;
        if (slot == null) { // a spare died idle
            synchronized (spares) {
                spares.remove(worker);
            }
        }
        if (closed) {
            return;
        }
        try {
            Worker spare;
            synchronized (spares) {
                spare = spares.poll();
            }
            if (slot != null) {
                Worker successor = spare != null ? spare : start();
                successor.slot = slot;
                slot.current = successor;
                for (long id : orphans) {
                    successor.send(id, worker.outstanding.get(id));
                }
            }
            if (spare != null || slot == null) {
                Worker replacement = start();
                synchronized (spares) {
                    spares.add(replacement);
                }
            }
        } catch (IOException e) {
            orphans.forEach(id -> fail(id, "no successor for a dead worker: " + e));
        }
    }

    private void fail(long id, String why) {
        CompletableFuture<JsonNode> future = futures.remove(id);
        if (future != null) {
            future.completeExceptionally(new IllegalStateException(why));
        }
    }

    private final class Worker {
        final Process process;
        final long startTicks;
        /** Tasks written to this worker and not answered yet, by id: re-sent to the successor if it dies. */
        final Map<Long, byte[]> outstanding = new ConcurrentHashMap<>();
        private final OutputStream stdin;
        volatile Slot slot;
        private boolean dead; // guarded by this

        Worker(Process process) {
            this.process = process;
            this.startTicks = Procs.startTicks(process.pid());
            this.stdin = new BufferedOutputStream(process.getOutputStream(), 1 << 16);
        }

        /** Writes the task at once; false if this worker is dead (the caller tries its slot's successor). */
        synchronized boolean send(long id, byte[] line) {
            if (dead) {
                return false;
            }
            outstanding.put(id, line);
            try {
                stdin.write(line);
                stdin.write('\n');
                stdin.flush();
            } catch (IOException e) {
                // the worker is gone: its reader sees the end of its stdout and re-sends what it had
            }
            return true;
        }

        synchronized void endInput() {
            try {
                stdin.close();
            } catch (IOException e) {
                // gone already
            }
        }

        void read() {
            try (BufferedReader in = new BufferedReader(
                    new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8), 1 << 16)) {
                String line;
                while ((line = in.readLine()) != null) {
                    if (!line.startsWith("{")) {
                        continue; // the JVM's own warnings go to stdout too (a class-data archive's, at exit)
                    }
                    JsonNode answer = mapper.readTree(line);
                    long id = answer.path("id").asLong();
                    outstanding.remove(id);
                    CompletableFuture<JsonNode> future = futures.remove(id);
                    if (future == null) {
                        continue;
                    }
                    if (answer.has("error")) {
                        future.completeExceptionally(new IllegalStateException(answer.get("error").asText()));
                    } else {
                        future.complete(answer.get("result"));
                    }
                }
            } catch (IOException e) {
                process.destroyForcibly(); // a broken pipe or a line that is not JSON: this worker is done
            }
            died(this);
        }
    }
}
