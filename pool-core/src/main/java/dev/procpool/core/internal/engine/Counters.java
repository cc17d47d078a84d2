package dev.procpool.core.internal.engine;

import dev.procpool.FailureReason;
import dev.procpool.TaskRejectedException;

import java.util.EnumMap;
import java.util.Map;

/** The pool's running totals. Guarded by the engine's lock; {@link #copy()} for readers outside it. */
final class Counters {
    long submitted;
    long succeeded;
    long retried;
    long deadLettered;
    long failed;
    long cancelled;
    long workersStarted;
    long restarts;
    long zombies;
    long runNanos;
    long runs;
    /** A worker's time per task, smoothed over the last few dozen answers (0 before the first). */
    long serviceNanos;
    long waitNanos;
    long waits;
    /** Choices a load balancer got wrong (threw, or chose a stranger) and least-loaded made instead. */
    long balancerFailures;
    final Map<FailureReason, Long> failuresByReason = new EnumMap<>(FailureReason.class);
    final Map<FailureReason, Long> restartsByReason = new EnumMap<>(FailureReason.class);
    final Map<TaskRejectedException.Kind, Long> rejectedByKind = new EnumMap<>(TaskRejectedException.Kind.class);

    long rejected() {
        return rejectedByKind.values().stream().mapToLong(Long::longValue).sum();
    }

    void rejected(TaskRejectedException.Kind kind) {
        rejectedByKind.merge(kind, 1L, Long::sum);
    }

    Counters copy() {
        Counters copy = new Counters();
        copy.submitted = submitted;
        copy.succeeded = succeeded;
        copy.retried = retried;
        copy.deadLettered = deadLettered;
        copy.failed = failed;
        copy.cancelled = cancelled;
        copy.workersStarted = workersStarted;
        copy.restarts = restarts;
        copy.zombies = zombies;
        copy.runNanos = runNanos;
        copy.runs = runs;
        copy.waitNanos = waitNanos;
        copy.waits = waits;
        copy.balancerFailures = balancerFailures;
        copy.failuresByReason.putAll(failuresByReason);
        copy.restartsByReason.putAll(restartsByReason);
        copy.rejectedByKind.putAll(rejectedByKind);
        return copy;
    }
}
