package dev.procpool.core.internal.engine;

import dev.procpool.AttemptRecord;
import dev.procpool.DeadLetter;
import dev.procpool.FailureReason;
import dev.procpool.PayloadCodec;
import dev.procpool.TaskFailedException;
import dev.procpool.TaskInfo;
import dev.procpool.TaskState;
import dev.procpool.core.internal.store.StoredAttempt;
import dev.procpool.core.internal.store.StoredTask;

import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * What callers see of a task kept in a durable store: its info, its dead-letter entry, and the outcome its handle
 * completes with when it ended on another host (or before this host's handle existed).
 */
final class StoredViews {
    private StoredViews() {
    }

    static TaskInfo info(StoredTask task) {
        return new TaskInfo(task.id(), task.type(), task.state(), task.attempts(), attempts(task), task.resultJson(),
                task.failureReason(), task.failureMessage(), task.submittedAt(), task.endedAt(), task.finalHost(),
                task.finalWorkerId());
    }

    static DeadLetter deadLetter(StoredTask task) {
        FailureReason reason = task.failureReason() != null ? task.failureReason() : FailureReason.WORKER_CRASHED;
        return new DeadLetter(task.id(), task.type(), task.priority(), task.payloadJson(), reason,
                task.failureMessage(), attempts(task), task.endedAt());
    }

    /** The outcome of an ended task: a result, or the failure its future completes with. */
    static Object outcome(StoredTask task, PayloadCodec payloads) {
        if (task.state() == TaskState.SUCCEEDED) {
            return new DefaultTaskResult(task.id(), task.type(), task.resultJson().getBytes(StandardCharsets.UTF_8),
                    task.finalWorkerId() == null ? "" : task.finalWorkerId(), -1, task.attempts(), 0, 0, List.of(),
                    payloads);
        }
        return failure(task);
    }

    static TaskFailedException failure(StoredTask task) {
        List<AttemptRecord> attempts = attempts(task);
        AttemptRecord last = attempts.isEmpty() ? null : attempts.get(attempts.size() - 1);
        FailureReason reason = task.failureReason() != null ? task.failureReason()
                : task.state() == TaskState.CANCELLED ? FailureReason.CANCELLED
                : last != null ? last.reason() : FailureReason.WORKER_CRASHED;
        return new TaskFailedException(task.id(), task.type(), reason, task.attempts(),
                last == null ? null : last.remoteError(), task.failureMessage(),
                last == null ? List.of() : last.stderrTail(), attempts);
    }

    private static List<AttemptRecord> attempts(StoredTask task) {
        return task.failedAttempts().stream().map(StoredAttempt::record).toList();
    }
}
