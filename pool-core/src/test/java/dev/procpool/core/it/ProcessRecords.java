package dev.procpool.core.it;

import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

import static org.awaitility.Awaitility.await;

/**
 * Processes a test saw, each by pid and start time, so that the end of the test can check that none of them is
 * still alive: found by pid, not among the test JVM's descendants, so an orphan reparented to init is seen too, and
 * by start time, so a reused pid is not mistaken for a leftover.
 */
final class ProcessRecords {
    private final Map<Long, Instant> started = new ConcurrentHashMap<>();

    /** Records a live process; does nothing if it has already ended. */
    void record(long pid) {
        startOf(pid).ifPresent(start -> started.putIfAbsent(pid, start));
    }

    /** Records the process and all its live descendants. */
    void recordTree(long pid) {
        record(pid);
        ProcessHandle.of(pid).ifPresent(p -> p.descendants().forEach(d -> record(d.pid())));
    }

    int size() {
        return started.size();
    }

    /** Waits until none of the recorded processes is alive (the same pid with the same start time). */
    void assertNoneAlive(Duration within) {
        await("recorded processes " + started.keySet() + " to have ended").atMost(within)
                .pollInterval(Duration.ofMillis(20))
                .until(() -> started.entrySet().stream().noneMatch(e -> startOf(e.getKey())
                        .map(start -> start.equals(e.getValue())).orElse(false)));
    }

    /** Kills whatever recorded process is still alive (the same pid with the same start time). */
    void killAlive() {
        started.forEach((pid, start) -> ProcessHandle.of(pid)
                .filter(p -> p.info().startInstant().map(start::equals).orElse(false))
                .ifPresent(ProcessHandle::destroyForcibly));
    }

    private static Optional<Instant> startOf(long pid) {
        return ProcessHandle.of(pid).filter(ProcessHandle::isAlive).flatMap(p -> p.info().startInstant());
    }
}
