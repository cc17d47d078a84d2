package dev.procpool;

import java.time.Duration;
import java.util.List;
import java.util.Objects;

/**
 * The forensics of one failed attempt of a task. A Jackson mapper with {@code JavaTimeModule} (for the
 * {@code Duration}) writes it as an object of its components and reads it back.
 *
 * @param attempt      the attempt number, from 1
 * @param workerId     the worker that ran it
 * @param workerPid    that worker's pid
 * @param reason       why the attempt failed
 * @param detail       a human-readable account (exit status, timeout, protocol problem …)
 * @param exitCode     the worker's exit code when the attempt ended with the worker's death, else {@code null}
 * @param signal       the signal that killed the worker, else {@code null}
 * @param duration     from dispatch to the end of the attempt
 * @param peakRssBytes the highest resident memory seen for the worker during the attempt (0 when unknown)
 * @param stderrTail   the last lines the worker wrote to stderr (and stray stdout lines, such as a thread dump)
 * @param remoteError  the error the worker reported, else {@code null}
 */
public record AttemptRecord(int attempt, String workerId, long workerPid, FailureReason reason, String detail,
                            Integer exitCode, Integer signal, Duration duration, long peakRssBytes,
                            List<String> stderrTail, RemoteError remoteError) {
    /**
     * Checks the required components; a {@code null} detail becomes empty and the output tail is copied.
     *
     * @param attempt      the attempt number, from 1
     * @param workerId     the worker that ran it
     * @param workerPid    that worker's pid
     * @param reason       why the attempt failed
     * @param detail       a human-readable account, or {@code null}
     * @param exitCode     the worker's exit code, else {@code null}
     * @param signal       the signal that killed the worker, else {@code null}
     * @param duration     from dispatch to the end of the attempt
     * @param peakRssBytes the highest resident memory seen, 0 when unknown
     * @param stderrTail   the last lines the worker wrote to stderr
     * @param remoteError  the error the worker reported, else {@code null}
     */
    public AttemptRecord {
        Objects.requireNonNull(workerId, "workerId");
        Objects.requireNonNull(reason, "reason");
        detail = detail == null ? "" : detail;
        Objects.requireNonNull(duration, "duration");
        stderrTail = List.copyOf(stderrTail);
    }
}
