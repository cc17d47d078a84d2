package dev.procpool.core.internal.engine;

import dev.procpool.AttemptRecord;
import dev.procpool.RetryPolicy;
import dev.procpool.TaskFailedException;
import dev.procpool.TaskHandle;
import dev.procpool.TaskInfo;
import dev.procpool.TaskRequest;
import dev.procpool.TaskResult;
import dev.procpool.TaskState;

import java.time.Instant;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;

/**
 * Tasks that ended in memory, for {@code WorkerPool.task(id)} and {@code handle(id)}: kept for the output retention,
 * at most {@link #MAX_TASKS} of them and {@link #MAX_BYTES} of results and forensics, oldest dropped first. Their
 * payloads are not kept. Guarded by the engine's lock; time comes from the caller.
 */
final class EndedTasks {
    static final int MAX_TASKS = 10_000;
    static final long MAX_BYTES = 32L << 20;

    /**
     * What is kept of an ended task: what {@code task(id)} says of it, built only when asked (most ended tasks are
     * never looked up, and a busy pool ends hundreds of thousands a second), and its outcome for a late handle.
     */
    static final class Ended {
        private final String id;
        private final String type;
        private final TaskState state;
        private final int attempts;
        private final List<AttemptRecord> failedAttempts;
        private final String workerId;
        /** The task's result or its {@link TaskFailedException}. */
        private final Object outcome;
        private final CompletableFuture<TaskResult> future;
        private final Instant endedAt;
        /** How long before {@link #endedAt} the task was submitted. */
        private final long ranForNanos;
        final long bytes;
        final long expiresAt;

        private Ended(TaskRecord task, Object outcome, Instant endedAt, long ranForNanos, long bytes, long expiresAt) {
            this.id = task.id;
            this.type = task.type();
            this.state = task.state;
            this.attempts = task.attempts;
            this.failedAttempts = List.copyOf(task.failedAttempts);
            this.workerId = task.lastWorkerId;
            this.outcome = outcome;
            this.future = task.future;
            this.endedAt = endedAt;
            this.ranForNanos = ranForNanos;
            this.bytes = bytes;
            this.expiresAt = expiresAt;
        }

        TaskInfo info() {
            String result = outcome instanceof TaskResult done ? done.json() : null;
            TaskFailedException failed = outcome instanceof TaskFailedException f ? f : null;
            return new TaskInfo(id, type, state, attempts, failedAttempts, result,
                    failed == null ? null : failed.reason(), failed == null ? "" : failed.getMessage(),
                    endedAt.minusNanos(ranForNanos), endedAt, null, workerId);
        }

        CompletableFuture<TaskResult> outcome() {
            return future;
        }
    }

    private final long retentionNanos;
    private final LinkedHashMap<String, Ended> entries = new LinkedHashMap<>();
    private long bytes;

    EndedTasks(long retentionNanos) {
        this.retentionNanos = retentionNanos;
    }

    /** Keeps a task that ended now ({@code endedAt} on the wall clock, {@code now} on the ticker) with its outcome. */
    void put(TaskRecord task, Object outcome, Instant endedAt, long now) {
        prune(now);
        Ended old = entries.remove(task.id);
        if (old != null) {
            bytes -= old.bytes;
        }
        long size = 256 + size(outcome);
        for (AttemptRecord a : task.failedAttempts) {
            size += 256 + a.detail().length();
            for (String line : a.stderrTail()) {
                size += line.length();
            }
        }
        if (size > MAX_BYTES) {
            return; // a result too large to keep: task(id) no longer finds it once it ended
        }
        while (!entries.isEmpty() && (entries.size() >= MAX_TASKS || bytes + size > MAX_BYTES)) {
            Iterator<Ended> oldest = entries.values().iterator();
            bytes -= oldest.next().bytes;
            oldest.remove();
        }
        entries.put(task.id, new Ended(task, outcome, endedAt, now - task.submittedAt, size, now + retentionNanos));
        bytes += size;
    }

    /** About what keeping an outcome costs: its result's JSON, or its failure's message. */
    private static long size(Object outcome) {
        if (outcome instanceof DefaultTaskResult result) {
            return result.jsonBytes();
        }
        if (outcome instanceof TaskResult result) {
            return result.json().length();
        }
        return outcome instanceof TaskFailedException failed && failed.getMessage() != null
                ? failed.getMessage().length() : 0;
    }

    Optional<Ended> get(String taskId, long now) {
        prune(now);
        return Optional.ofNullable(entries.get(taskId));
    }

    /** What is known of a task: the one held now (if given), else one that ended within the retention. */
    Optional<TaskInfo> find(String taskId, TaskRecord held, EngineContext ctx) {
        long now = ctx.now();
        if (held != null) {
            java.time.Instant wall = ctx.clock.instant();
            return Optional.of(info(held, null, wall.minusNanos(now - held.submittedAt), null));
        }
        return get(taskId, now).map(Ended::info);
    }

    /** A handle on a task that ended within the retention: done, with its outcome; cancelling it does nothing. */
    Optional<TaskHandle> handle(String taskId, long now, RetryPolicy policy) {
        return get(taskId, now).map(ended -> {
            TaskInfo info = ended.info();
            TaskRecord shell = new TaskRecord(info.id(), TaskRequest.of(info.type(), null).withId(info.id()),
                    new byte[0], 0, now, 0, policy, ended.outcome());
            shell.state = info.state();
            shell.lastWorkerId = info.workerId();
            return new DefaultTaskHandle(shell, task -> false);
        });
    }

    private void prune(long now) {
        for (Iterator<Map.Entry<String, Ended>> it = entries.entrySet().iterator(); it.hasNext(); ) {
            Ended entry = it.next().getValue();
            if (entry.expiresAt - now > 0) {
                break; // in insertion order, so expiry order
            }
            bytes -= entry.bytes;
            it.remove();
        }
    }

    /** What {@code task(id)} says of a task the engine holds, or of one that ended with {@code outcome}. */
    static TaskInfo info(TaskRecord task, Object outcome, java.time.Instant submittedAt, java.time.Instant endedAt) {
        String result = outcome instanceof TaskResult done ? done.json() : null;
        TaskFailedException failed = outcome instanceof TaskFailedException f ? f : null;
        return new TaskInfo(task.id, task.type(), task.state, task.attempts, List.copyOf(task.failedAttempts), result,
                failed == null ? null : failed.reason(), failed == null ? "" : failed.getMessage(), submittedAt,
                endedAt, null, task.lastWorkerId);
    }
}
