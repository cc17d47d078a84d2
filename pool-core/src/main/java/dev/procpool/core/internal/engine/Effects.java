package dev.procpool.core.internal.engine;

import dev.procpool.TaskFailedException;
import dev.procpool.core.internal.process.WorkerConnection;
import dev.procpool.core.internal.Loggers;
import org.slf4j.Logger;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.RejectedExecutionException;

/**
 * I/O decided under the engine's lock and carried out after it is released, always: every entry point runs its
 * effects in a {@code finally}, whatever threw while deciding. Three lanes, in this order:
 * <ol>
 *   <li>frames to workers (those for one worker go out in one write), so workers start on new tasks first;</li>
 *   <li>quick actions (a worker's ready future, progress callbacks, log lines), then callers' futures;</li>
 *   <li>slow actions (launching a process, signals, reading /proc, writing task logs), handed to the pool's effects
 *       thread in order, so that they never hold up a worker's reader thread or a caller's result.</li>
 * </ol>
 * One failing action never stops the others.
 */
final class Effects {
    private static final Logger LOG = Loggers.pool();

    private final EngineContext ctx;
    private final List<Send> sends = new ArrayList<>(2);
    private List<Runnable> quick;
    private List<Object[]> completions;
    private List<Runnable> slow;

    /** A frame to send; {@code task} is set for a task frame, whose end offset it records. */
    private record Send(WorkerConnection process, byte[] frame, TaskRecord task) {
    }

    Effects(EngineContext ctx) {
        this.ctx = ctx;
    }

    void send(WorkerRecord worker, byte[] frame) {
        WorkerConnection process = worker.process;
        if (process != null) {
            sends.add(new Send(process, frame, null));
        }
    }

    void sendTask(WorkerRecord worker, TaskRecord task, int attempt, long timeoutMs) {
        sends.add(new Send(worker.process,
                ctx.codec.encodeTask(task.id, task.type(), attempt, timeoutMs, task.payloadJson), task));
    }

    /** A cheap action that does not block (completing a worker's future, a callback, a log line). */
    void quick(Runnable action) {
        if (quick == null) {
            quick = new ArrayList<>(2);
        }
        quick.add(action);
    }

    /** An action that takes time (fork, a signal through a program, file or /proc I/O). */
    void slow(Runnable action) {
        if (slow == null) {
            slow = new ArrayList<>(2);
        }
        slow.add(action);
    }

    /** Completes a task's future with a result or a {@link TaskFailedException}. */
    void complete(TaskRecord task, Object outcome) {
        if (completions == null) {
            completions = new ArrayList<>(2);
        }
        completions.add(new Object[] {task, outcome});
    }

    void run() {
        try {
            sendAll();
        } finally {
            try {
                runAll(quick);
            } finally {
                try {
                    completeAll();
                } finally {
                    handOffSlow();
                }
            }
        }
    }

    private void completeAll() {
        if (completions == null) {
            return;
        }
        for (Object[] completion : completions) {
            TaskRecord task = (TaskRecord) completion[0];
            boolean first = completion[1] instanceof TaskFailedException failed
                    ? task.future.completeExceptionally(failed)
                    : task.future.complete((DefaultTaskResult) completion[1]);
            if (!first) {
                LOG.error("procpool bug: task {} completed twice", task.id);
            }
        }
    }

    private void handOffSlow() {
        if (slow == null) {
            return;
        }
        List<Runnable> actions = slow;
        try {
            ctx.slowEffects.execute(() -> runAll(actions));
        } catch (RejectedExecutionException e) {
            runAll(actions); // the pool has terminated: what is left still happens, here
        }
    }

    private static void runAll(List<Runnable> actions) {
        if (actions == null) {
            return;
        }
        for (Runnable action : actions) {
            try {
                action.run();
            } catch (RuntimeException | LinkageError | AssertionError e) {
                LOG.error("procpool: an effect failed", e);
            }
        }
    }

    private void sendAll() {
        if (sends.isEmpty()) {
            return;
        }
        if (sends.size() == 1) {
            write(sends); // the usual case
            return;
        }
        Map<WorkerConnection, List<Send>> byWorker = new LinkedHashMap<>();
        for (Send send : sends) {
            byWorker.computeIfAbsent(send.process, process -> new ArrayList<>(2)).add(send);
        }
        byWorker.values().forEach(this::write);
    }

    /** Writes frames for one worker in one write; each task frame ends where the bytes after it begin. */
    private void write(List<Send> batch) {
        try {
            WorkerConnection process = batch.get(0).process;
            byte[] bytes = batch.get(0).frame;
            if (batch.size() > 1) {
                bytes = new byte[batch.stream().mapToInt(send -> send.frame.length).sum()];
                int at = 0;
                for (Send send : batch) {
                    System.arraycopy(send.frame, 0, bytes, at, send.frame.length);
                    at += send.frame.length;
                }
            }
            long end = process.send(bytes);
            for (int k = batch.size() - 1; k >= 0; k--) {
                Send send = batch.get(k);
                if (send.task != null) {
                    send.task.frameEnd = end;
                }
                end -= send.frame.length;
            }
        } catch (RuntimeException e) {
            LOG.error("procpool: sending to a worker failed", e);
        }
    }
}
