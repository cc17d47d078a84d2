package dev.procpool.core.testing;

import dev.procpool.core.internal.process.ProcFs;
import dev.procpool.core.internal.process.ProcStat;
import dev.procpool.core.internal.process.ProcessTree;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * Finds the processes a test left behind. While it runs, it records every process that this JVM started or that a
 * pool of this JVM marked as part of a worker's tree, by pid <em>and</em> start time (a pid may be reused), every
 * 100 ms and whenever asked; at the end, {@link #assertNoneLeft} waits until none of them is alive. It sees an orphan
 * (a worker's child that the system gave to init when its worker died), which a look at the live descendants of the
 * JVM cannot: the orphan is recorded while it still descends from the JVM, or found by the marker that every process
 * of a worker's tree inherits. Use one per test:
 *
 * <pre>{@code
 * private final ProcessLeakCheck leaks = ProcessLeakCheck.start();
 *
 * @AfterEach void nothingLeftBehind() { leaks.assertNoneLeft(Duration.ofSeconds(10)); }
 * }</pre>
 *
 * Processes a test learns of by other means (a pid a handler returned) are added with {@link #record}. The marker
 * and the start times are read from Linux's {@code /proc}; elsewhere only the JVM's descendants are recorded. Zombies
 * (exited, waiting to be collected) count as gone. Thread-safe.
 */
public final class ProcessLeakCheck implements AutoCloseable {
    private static final long SAMPLE_EVERY_NANOS = TimeUnit.MILLISECONDS.toNanos(100);
    private static final long POLL_EVERY_NANOS = TimeUnit.MILLISECONDS.toNanos(20);

    /** pid to the process as first seen; where there is no /proc, start times come from the handle. */
    private final Map<Long, Seen> recorded = new ConcurrentHashMap<>();
    private final Thread sampler;
    private volatile boolean closed;

    private record Seen(long pid, long startTicks, ProcessHandle handle, String what) {
    }

    private ProcessLeakCheck() {
        sampler = new Thread(this::sampleUntilClosed, "procpool-leak-check");
        sampler.setDaemon(true);
    }

    /**
     * Starts recording: now, then every 100 ms until {@link #close} or {@link #assertNoneLeft}.
     *
     * @return the running check
     */
    public static ProcessLeakCheck start() {
        ProcessLeakCheck check = new ProcessLeakCheck();
        check.recordNow();
        check.sampler.start();
        return check;
    }

    /**
     * Records a process the test learned of, with its current start time; a process already gone is ignored.
     *
     * @param pid the process
     * @return this check
     */
    public ProcessLeakCheck record(long pid) {
        if (ProcFs.available()) {
            ProcStat.read(pid).filter(stat -> !stat.isZombie()).ifPresent(stat -> remember(stat, "recorded"));
        } else {
            ProcessHandle.of(pid).filter(ProcessHandle::isAlive)
                    .ifPresent(handle -> recorded.putIfAbsent(pid, new Seen(pid, -1, handle, "recorded")));
        }
        return this;
    }

    /** Records, now, the descendants of this JVM and the processes pools of this JVM marked as theirs. */
    public void recordNow() {
        if (!ProcFs.available()) {
            ProcessHandle.current().descendants().forEach(handle -> recorded.putIfAbsent(handle.pid(),
                    new Seen(handle.pid(), -1, handle, "descendant of the test JVM")));
            return;
        }
        List<ProcStat> table = ProcFs.snapshot();
        Set<Long> descendants = ProcFs.descendants(table, Set.of(ProcessHandle.current().pid()));
        for (ProcStat process : table) {
            if (process.isZombie()) {
                continue;
            }
            if (descendants.contains(process.pid())) {
                remember(process, "descendant of the test JVM");
            } else if (marked(process.pid())) {
                remember(process, "marked as part of a worker's tree");
            }
        }
    }

    /**
     * Waits until no recorded process and no process marked by a pool of this JVM is alive, then stops recording.
     * Those still alive after {@code within} are killed, so that the next test starts clean, and reported.
     *
     * @param within how long the processes may take to exit
     * @throws AssertionError naming each process left behind: pid, how it was found, and its command line
     */
    public void assertNoneLeft(Duration within) {
        long deadline = System.nanoTime() + within.toNanos();
        try {
            List<Seen> alive;
            while (true) {
                recordNow();
                alive = alive();
                if (alive.isEmpty()) {
                    return;
                }
                if (System.nanoTime() - deadline >= 0) {
                    break;
                }
                LockSupport.parkNanos(POLL_EVERY_NANOS);
            }
            List<String> described = new ArrayList<>();
            for (Seen process : alive) {
                described.add(process.pid() + " (" + process.what() + "): "
                        + process.handle().info().commandLine().orElse("?"));
                process.handle().destroyForcibly();
            }
            throw new AssertionError(alive.size() + " processes left behind after " + within + ": " + described);
        } finally {
            close();
        }
    }

    /** Stops recording. */
    @Override
    public void close() {
        closed = true;
        sampler.interrupt();
    }

    private List<Seen> alive() {
        List<Seen> alive = new ArrayList<>();
        for (Seen process : recorded.values()) {
            if (ProcFs.available()) {
                Optional<ProcStat> now = ProcStat.read(process.pid());
                if (now.isPresent() && now.get().startTicks() == process.startTicks() && !now.get().isZombie()) {
                    alive.add(process);
                }
            } else if (process.handle().isAlive()) {
                alive.add(process);
            }
        }
        return alive;
    }

    private void remember(ProcStat process, String what) {
        Optional<ProcessHandle> handle = ProcessHandle.of(process.pid());
        if (handle.isPresent()) {
            recorded.compute(process.pid(), (pid, known) -> known != null && known.startTicks() == process.startTicks()
                    ? known : new Seen(pid, process.startTicks(), handle.get(), what + ", " + process.name()));
        }
    }

    private static boolean marked(long pid) {
        return ProcFs.environmentValue(pid, ProcessTree.MARKER_VARIABLE)
                .filter(value -> value.startsWith(ProcessTree.hostMarkerPrefix())).isPresent();
    }

    private void sampleUntilClosed() {
        while (!closed) {
            LockSupport.parkNanos(SAMPLE_EVERY_NANOS);
            if (!closed) {
                recordNow();
            }
        }
    }
}
