package dev.procpool.core.internal.store;

import java.time.Duration;
import java.time.Instant;
import java.util.Optional;

/** Whether a host process on this machine still lives, by pid and start time (a reused pid is another process). */
final class LocalProcesses {
    /** Start times are read from the same /proc source each time, but keep a margin for rounding. */
    private static final Duration START_TOLERANCE = Duration.ofSeconds(1);

    private LocalProcesses() {
    }

    static boolean isAlive(long pid, Instant processStarted) {
        Optional<ProcessHandle> handle = ProcessHandle.of(pid);
        if (handle.isEmpty() || !handle.get().isAlive()) {
            return false;
        }
        if (processStarted == null) {
            return true; // cannot tell a reused pid: assume alive and let the lease expire
        }
        Optional<Instant> started = handle.get().info().startInstant();
        return started.isEmpty()
                || Duration.between(started.get(), processStarted).abs().compareTo(START_TOLERANCE) <= 0;
    }
}
