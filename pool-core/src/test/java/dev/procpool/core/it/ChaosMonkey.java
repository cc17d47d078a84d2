package dev.procpool.core.it;

import dev.procpool.WorkerPool;
import dev.procpool.WorkerSnapshot;
import dev.procpool.core.internal.process.ProcStat;
import dev.procpool.core.testing.Signals;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import java.util.stream.Stream;

/**
 * The fault schedule of the chaos run: every {@code interval}, one fault in a fixed rotation (SIGKILL a worker,
 * SIGSTOP a worker, SIGKILL a worker, SIGSTOP a worker, signal a worker's child), each on a random victim. Workers
 * are chosen among those the pool lists as healthy and that were not signalled before (a stopped worker is left for
 * the pool to find hung); a worker's child among the processes that {@code tree} tasks
 * recorded (see {@code ChaosHandler}), SIGSTOP and SIGKILL in turn. A process is signalled only after its pid and
 * start time were checked just before (a worker must still be a child of this JVM), so a reused pid is never hit; a
 * victim that exits in between is a miss, not a fault.
 */
final class ChaosMonkey implements Runnable {
    private enum Fault { KILL_WORKER, STOP_WORKER, SIGNAL_CHILD }

    private static final List<Fault> ROTATION = List.of(Fault.KILL_WORKER, Fault.STOP_WORKER, Fault.KILL_WORKER,
            Fault.STOP_WORKER, Fault.SIGNAL_CHILD);
    private static final long SELF = ProcessHandle.current().pid();

    private final WorkerPool pool;
    private final Path trees;
    private final Duration interval;
    private final Random random;
    private final Thread thread;
    private volatile boolean stopped;
    private volatile Throwable failure;

    private final AtomicLong workerKills = new AtomicLong();
    private final AtomicLong workerStops = new AtomicLong();
    private final AtomicLong childKills = new AtomicLong();
    private final AtomicLong childStops = new AtomicLong();
    private final AtomicLong misses = new AtomicLong();
    private final Set<Long> killedWorkers = ConcurrentHashMap.newKeySet();
    private final Set<Long> stoppedWorkers = ConcurrentHashMap.newKeySet();

    ChaosMonkey(WorkerPool pool, Path trees, Duration interval, long seed) {
        this.pool = pool;
        this.trees = trees;
        this.interval = interval;
        this.random = new Random(seed);
        this.thread = new Thread(this, "chaos-monkey");
        thread.setDaemon(true);
    }

    void start() {
        thread.start();
    }

    /** Stops the schedule and waits for the fault under way; fails if the schedule itself failed. */
    void stop() throws InterruptedException {
        stopped = true;
        LockSupport.unpark(thread);
        thread.join(30_000);
        if (thread.isAlive()) {
            throw new AssertionError("the chaos monkey did not stop within 30 s");
        }
        Throwable failed = failure;
        failure = null; // reported once
        if (failed != null) {
            throw new AssertionError("the chaos monkey failed", failed);
        }
    }

    @Override
    public void run() {
        try {
            injectUntilStopped();
        } catch (Throwable e) {
            failure = e;
        }
    }

    private void injectUntilStopped() {
        int round = 0;
        while (!stopped) {
            LockSupport.parkNanos(interval.toNanos()); // the fault schedule itself, not a wait for a result
            if (stopped) {
                return;
            }
            Fault fault = ROTATION.get(round++ % ROTATION.size());
            boolean hit = fault == Fault.SIGNAL_CHILD ? signalChild(round / ROTATION.size() % 2 == 0)
                    : signalWorker(fault == Fault.KILL_WORKER);
            if (!hit) {
                misses.incrementAndGet();
            }
        }
    }

    private boolean signalWorker(boolean kill) {
        // a stopped worker looks healthy until its heartbeat timeout: leave it to the pool, as one would a hung one
        List<WorkerSnapshot> healthy = pool.workers().stream().filter(WorkerSnapshot::healthy)
                .filter(w -> !stoppedWorkers.contains(w.pid()) && !killedWorkers.contains(w.pid())).toList();
        if (healthy.isEmpty()) {
            return false;
        }
        long pid = healthy.get(random.nextInt(healthy.size())).pid();
        boolean ourChild = ProcStat.read(pid).filter(p -> p.parentPid() == SELF && !p.isZombie()).isPresent();
        if (!ourChild || !send(kill ? "KILL" : "STOP", pid)) {
            return false;
        }
        (kill ? workerKills : workerStops).incrementAndGet();
        (kill ? killedWorkers : stoppedWorkers).add(pid);
        return true;
    }

    private boolean signalChild(boolean kill) {
        List<long[]> alive = new ArrayList<>();
        for (long[] process : recordedTreeProcesses(trees)) {
            if (ProcStat.read(process[0]).filter(p -> p.startTicks() == process[1] && !p.isZombie()).isPresent()) {
                alive.add(process);
            }
        }
        if (alive.isEmpty()) {
            return false;
        }
        long[] victim = alive.get(random.nextInt(alive.size()));
        if (ProcStat.read(victim[0]).filter(p -> p.startTicks() == victim[1]).isEmpty()
                || !send(kill ? "KILL" : "STOP", victim[0])) {
            return false;
        }
        (kill ? childKills : childStops).incrementAndGet();
        return true;
    }

    private static boolean send(String signal, long pid) {
        try {
            Signals.send(signal, pid);
            return true;
        } catch (IllegalStateException e) {
            return false; // it exited between the check and the signal
        }
    }

    /** Every process the {@code tree} tasks recorded in {@code trees}: pid and start time (clock ticks). */
    static List<long[]> recordedTreeProcesses(Path trees) {
        List<long[]> processes = new ArrayList<>();
        try (Stream<Path> files = Files.list(trees)) {
            for (Path file : files.filter(f -> !f.getFileName().toString().endsWith(".tmp")).toList()) {
                for (String line : Files.readAllLines(file)) {
                    String[] fields = line.trim().split(" ");
                    if (fields.length == 3) {
                        processes.add(new long[] {Long.parseLong(fields[1]), Long.parseLong(fields[2])});
                    }
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return processes;
    }

    long workerKills() {
        return workerKills.get();
    }

    long workerStops() {
        return workerStops.get();
    }

    long childKills() {
        return childKills.get();
    }

    long childStops() {
        return childStops.get();
    }

    long misses() {
        return misses.get();
    }

    Set<Long> killedWorkers() {
        return Set.copyOf(killedWorkers);
    }

    Set<Long> stoppedWorkers() {
        return Set.copyOf(stoppedWorkers);
    }
}
