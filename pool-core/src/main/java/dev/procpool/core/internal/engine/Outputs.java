package dev.procpool.core.internal.engine;

import dev.procpool.core.internal.process.SafeText;
import dev.procpool.core.internal.protocol.Frame;
import dev.procpool.core.internal.Loggers;
import org.slf4j.Logger;

import java.util.List;
import java.util.Optional;

/**
 * What workers write: lines kept with the task that wrote them (bounded), kept after it ends for a retention period,
 * optionally written to per-task log files (a slow effect), and logged under {@code dev.procpool.worker}. Stray
 * stdout lines are logged and counted, never fatal. Called under the engine's lock.
 */
final class Outputs {
    private static final Logger LOG = Loggers.pool();
    /** The longest output line kept with a task. */
    static final int MAX_LINE_CHARS = 4000;

    private final EngineContext ctx;
    private final OutputStore ended;

    Outputs(EngineContext ctx) {
        this.ctx = ctx;
        this.ended = new OutputStore(ctx.config.outputRetention().toNanos());
    }

    /** A log frame: kept with its task (named, or the worker's only one) and logged. */
    void onLog(WorkerRecord worker, Frame.Log log, Effects fx) {
        TaskRecord task = log.id() != null ? worker.inFlight.get(log.id()) : soleTask(worker);
        if (task != null) {
            add(task, SafeText.escape(log.message())); // it goes into failures, files and callers' logs
        }
        String taskId = task == null ? null : task.id;
        fx.quick(() -> WorkerOutput.log(ctx.name(), worker.id, taskId, log.level(), log.message()));
    }

    /**
     * A stdout line that is not a frame (escaped where it was read): kept in the worker's tail, counted, and logged
     * within the worker's log budget.
     */
    void onNotAFrame(WorkerRecord worker, Frame.NotAFrame line, Effects fx) {
        worker.nonFrameLines++;
        String text = line.text();
        if (worker.process != null) {
            worker.process.output().add("[stdout] " + text);
        }
        if (worker.isStopping()) {
            // a thread dump asked for with SIGQUIT, or last words: kept, not a warning
            if (worker.stoppingOutput.size() < WorkerRecord.MAX_STOPPING_LINES) {
                worker.stoppingOutput.add(text);
            }
            LOG.debug("worker {} (stopping) wrote: {}", worker.id, text);
        } else {
            String message = "wrote a line to stdout that is not a frame (" + line.why() + "), ignored: " + text;
            fx.quick(() -> WorkerOutput.log(ctx.name(), worker.id, null, "WARN", message));
        }
    }

    /** A stderr line: kept with the task the worker runs alone, if any; returns that task's id, or null. */
    String onStderr(WorkerRecord worker, String line) {
        TaskRecord task = soleTask(worker);
        if (task == null) {
            return null;
        }
        add(task, line);
        return task.id;
    }

    /** A task ended: what it wrote is kept for the retention period, and written to its log file if configured. */
    void taskEnded(TaskRecord task, Effects fx) {
        if (!task.hasOutput()) {
            return;
        }
        List<String> lines = task.outputLines();
        ended.put(task.id, lines, ctx.now());
        long pid = task.lastWorkerPid;
        ctx.config.taskLogDirectory().ifPresent(dir -> fx.slow(() -> TaskLogs.write(dir, task.id, pid, lines)));
    }

    Optional<List<String>> ofEndedTask(String taskId, int maxLines) {
        return ended.get(taskId, maxLines, ctx.now());
    }

    /** The task a line without a task id belongs to: the worker's only task, if it runs exactly one. */
    private static TaskRecord soleTask(WorkerRecord worker) {
        return worker.inFlight.size() == 1 ? worker.inFlight.values().iterator().next() : null;
    }

    /** Keeps a line the task wrote, the last {@code maxTaskOutputLines} only. */
    private void add(TaskRecord task, String line) {
        int max = ctx.config.maxTaskOutputLines();
        if (max == 0) {
            return;
        }
        task.addOutput(line.length() > MAX_LINE_CHARS ? cut(line, MAX_LINE_CHARS) + "…" : line, max);
    }

    /** The first {@code max} characters, one fewer if that would split a surrogate pair (an emoji, say). */
    private static String cut(String line, int max) {
        int end = Character.isHighSurrogate(line.charAt(max - 1)) ? max - 1 : max;
        return line.substring(0, end);
    }
}
