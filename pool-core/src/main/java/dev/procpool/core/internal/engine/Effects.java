package dev.procpool.core.internal.engine;

import dev.procpool.TaskFailedException;
import dev.procpool.core.internal.process.WorkerConnection;
import dev.procpool.core.internal.protocol.FrameCodec;
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
    /** Null until the first frame: most entry points send none. */
    private List<Send> sends;
    private List<Runnable> quick;
    private List<Object[]> completions;
    private List<Runnable> slow;

    /**
     * A frame to send: {@code frame} for a frame encoded already, else a task frame, encoded once the lock is released
     * (the task's id, type and payload do not change; its attempt number and timeout are taken here).
     */
    private record Send(WorkerConnection process, byte[] frame, TaskRecord task, int attempt, long timeoutMs) {
        int bytes() {
            return frame != null ? frame.length
                    : FrameCodec.taskFrameBytes(task.id, task.type(), attempt, timeoutMs, task.payloadJson);
        }
    }

    Effects(EngineContext ctx) {
        this.ctx = ctx;
    }

    private void add(Send send) {
        if (sends == null) {
            sends = new ArrayList<>(2);
        }
        sends.add(send);
    }

    void send(WorkerRecord worker, byte[] frame) {
        WorkerConnection process = worker.process;
        if (process != null) {
            add(new Send(process, frame, null, 0, 0));
        }
    }

    void sendTask(WorkerRecord worker, TaskRecord task, int attempt, long timeoutMs) {
        add(new Send(worker.process, null, task, attempt, timeoutMs));
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
        if (sends == null) {
            return;
        }
        if (sends.size() == 1 || toOneWorker(sends)) {
            write(sends); // the usual case
            return;
        }
        Map<WorkerConnection, List<Send>> byWorker = new LinkedHashMap<>();
        for (Send send : sends) {
            List<Send> batch = byWorker.get(send.process);
            if (batch == null) {
                batch = new ArrayList<>(4);
                byWorker.put(send.process, batch);
            }
            batch.add(send);
        }
        for (List<Send> batch : byWorker.values()) {
            write(batch);
        }
    }

    private static boolean toOneWorker(List<Send> sends) {
        WorkerConnection process = sends.get(0).process;
        for (int i = 1; i < sends.size(); i++) {
            if (sends.get(i).process != process) {
                return false;
            }
        }
        return true;
    }

    /**
     * Writes frames for one worker in one write, encoded into one array when their sizes are known up front; each
     * task frame ends where the bytes after it begin.
     */
    private void write(List<Send> batch) {
        try {
            WorkerConnection process = batch.get(0).process;
            if (batch.size() == 1) {
                Send send = batch.get(0);
                long end = process.send(frame(send));
                if (send.task != null) {
                    send.task.frameEnd = end;
                }
                return;
            }
            int[] sizes = new int[batch.size()];
            long end = process.send(concatenate(batch, sizes));
            for (int k = batch.size() - 1; k >= 0; k--) {
                Send send = batch.get(k);
                if (send.task != null) {
                    send.task.frameEnd = end;
                }
                end -= sizes[k];
            }
        } catch (RuntimeException e) {
            LOG.error("procpool: sending to a worker failed", e);
        }
    }

    private byte[] frame(Send send) {
        return send.frame != null ? send.frame : ctx.codec.encodeTask(send.task.id, send.task.type(), send.attempt,
                send.timeoutMs, send.task.payloadJson);
    }

    /** The frames of a batch in one array; {@code sizes} gets each frame's length. */
    private byte[] concatenate(List<Send> batch, int[] sizes) {
        int total = 0;
        for (int k = 0; k < batch.size(); k++) {
            int size = batch.get(k).bytes();
            if (size < 0) {
                return concatenateEncoded(batch, sizes); // a task whose id or type needs escaping: rare
            }
            sizes[k] = size;
            total += size;
        }
        byte[] bytes = new byte[total];
        int at = 0;
        for (int k = 0; k < batch.size(); k++) {
            Send send = batch.get(k);
            if (send.frame != null) {
                System.arraycopy(send.frame, 0, bytes, at, send.frame.length);
            } else {
                FrameCodec.encodeTask(bytes, at, send.task.id, send.task.type(), send.attempt, send.timeoutMs,
                        send.task.payloadJson);
            }
            at += sizes[k];
        }
        return bytes;
    }

    private byte[] concatenateEncoded(List<Send> batch, int[] sizes) {
        byte[][] frames = new byte[batch.size()][];
        int total = 0;
        for (int k = 0; k < batch.size(); k++) {
            frames[k] = frame(batch.get(k));
            sizes[k] = frames[k].length;
            total += sizes[k];
        }
        byte[] bytes = new byte[total];
        int at = 0;
        for (byte[] frame : frames) {
            System.arraycopy(frame, 0, bytes, at, frame.length);
            at += frame.length;
        }
        return bytes;
    }
}
