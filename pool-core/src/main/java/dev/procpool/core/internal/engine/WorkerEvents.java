package dev.procpool.core.internal.engine;

import dev.procpool.FailureReason;
import dev.procpool.TaskProgress;
import dev.procpool.WorkerStartupException;
import dev.procpool.WorkerState;
import dev.procpool.core.internal.process.ExitStatus;
import dev.procpool.core.internal.process.SafeText;
import dev.procpool.core.internal.process.WorkerCommands;
import dev.procpool.core.internal.process.WorkerConnection;
import dev.procpool.core.internal.process.WorkerProcess;
import dev.procpool.core.internal.protocol.Frame;
import dev.procpool.core.internal.Loggers;
import org.slf4j.Logger;

import java.util.List;
import java.util.function.Consumer;

/**
 * One worker's process events, decided by the engine. The process layer's threads only read and parse: each event
 * becomes one decision under the engine's lock ({@link Engine#act}), and a burst of frames is one decision, so the
 * slots it frees are filled in one pass.
 */
final class WorkerEvents implements WorkerProcess.Listener {
    private static final Logger LOG = Loggers.pool();

    private final Engine engine;
    private final WorkerRecord worker;

    WorkerEvents(Engine engine, WorkerRecord worker) {
        this.engine = engine;
        this.worker = worker;
    }

    @Override
    public void onLaunched(WorkerConnection process) {
        boolean stoppedMeanwhile = engine.read(() -> {
            worker.process = process;
            worker.pid = process.pid();
            return worker.isStopping();
        });
        if (stoppedMeanwhile) {
            process.closeStdin();
            process.kill();
        }
    }

    @Override
    public void onFrame(Frame frame) {
        onFrames(List.of(frame));
    }

    @Override
    public void onFrames(List<Frame> frames) {
        RuntimeException[] bug = new RuntimeException[1];
        engine.act(fx -> {
            for (Frame frame : frames) {
                try {
                    frame(frame, fx);
                } catch (RuntimeException e) {
                    // a bug: the other frames of the burst are still handled, and their effects carried out, before
                    // the reader thread stops the worker for it
                    if (bug[0] == null) {
                        bug[0] = e;
                    } else {
                        bug[0].addSuppressed(e);
                    }
                }
            }
            engine.afterWorkerEvent(fx);
        });
        if (bug[0] != null) {
            throw bug[0];
        }
    }

    private void frame(Frame frame, Effects fx) {
        long now = engine.ctx.now();
        if (!(frame instanceof Frame.NotAFrame) && !(frame instanceof Frame.UnreadableAnswer)) {
            worker.lastFrameAt = now; // a line the host cannot read is no sign of life
        }
        if (worker.state == WorkerState.STARTING && !(frame instanceof Frame.Ready)
                && !(frame instanceof Frame.Heartbeat) && !(frame instanceof Frame.NotAFrame)
                && !(frame instanceof Frame.Log) && !(frame instanceof Frame.Unknown)) {
            engine.stops.begin(worker, FailureReason.PROTOCOL_ERROR, "sent a " + frame.getClass().getSimpleName()
                    + " frame before ready", WorkerStops.Mode.KILL, fx);
            return;
        }
        if (frame instanceof Frame.Result result) {
            answered(result.id(), result, now, fx);
        } else if (frame instanceof Frame.Error error) {
            answered(error.id(), error, now, fx);
        } else if (frame instanceof Frame.Heartbeat heartbeat) {
            if (heartbeat.rssBytes() > 0) {
                engine.supervisor.recordRss(worker, heartbeat.rssBytes(), fx);
            }
            worker.heapUsedBytes = heartbeat.heapUsedBytes();
        } else if (frame instanceof Frame.Ready ready) {
            if (engine.supervisor.onReady(worker, ready, now, fx)) {
                engine.updateHealth();
            }
        } else if (frame instanceof Frame.UnreadableAnswer unreadable) {
            worker.nonFrameLines++;
            LOG.warn("worker {} answered task {} with a {} frame the host cannot read ({}); the attempt fails: {}",
                    worker.id, SafeText.escape(unreadable.id()), unreadable.type(), unreadable.why(),
                    SafeText.escape(unreadable.text()));
            answered(unreadable.id(), unreadable, now, fx);
        } else if (frame instanceof Frame.NotAFrame line) {
            engine.outputs.onNotAFrame(worker, line, fx);
        } else if (frame instanceof Frame.Log log) {
            engine.outputs.onLog(worker, log, fx);
        } else if (frame instanceof Frame.Progress progress) {
            progress(progress, fx);
        } else {
            LOG.debug("worker {} sent a frame this host ignores: {}", worker.id, SafeText.escape(frame.toString()));
        }
    }

    private void answered(String taskId, Frame answer, long now, Effects fx) {
        if (engine.attempts.onAnswer(worker, taskId, answer, fx)) {
            engine.supervisor.retireIfDue(worker, now, fx);
        }
    }

    private void progress(Frame.Progress progress, Effects fx) {
        TaskRecord task = worker.inFlight.get(progress.id());
        if (task == null || task.progressListeners.isEmpty() || task.state.isTerminal()) {
            return;
        }
        TaskProgress report = new TaskProgress(task.id, progress.fraction(),
                progress.message() == null ? "" : progress.message());
        List<Consumer<TaskProgress>> listeners = task.progressListeners;
        fx.quick(() -> listeners.forEach(listener -> {
            try {
                listener.accept(report);
            } catch (Exception | LinkageError | AssertionError e) {
                // the caller's code: it must not take the worker's reader thread down
                LOG.warn("progress listener of task {} failed", task.id, e);
            }
        }));
    }

    /** A stderr line: kept with the task it was written during, and logged with the pool, worker and task. */
    @Override
    public void onStderr(String line) {
        String taskId = engine.read(() -> engine.outputs.onStderr(worker, line));
        WorkerOutput.log(engine.ctx.name(), worker.id, taskId, "INFO", line);
    }

    /**
     * Its stdout ended: it can answer nothing more, so no task goes to it while its exit is being reported (the task
     * would be lost with it, and wait its retry backoff), and a ready hot spare takes its place at once; what it
     * already holds fails at its exit, as before.
     */
    @Override
    public void onStdoutEnded() {
        engine.act(fx -> {
            worker.stdoutEnded = true;
            if (worker.isReady() && worker.isActiveMember()) {
                engine.supervisor.promoteSpareFor(worker);
                engine.dispatch(fx);
            }
        });
    }

    @Override
    public void onProtocolError(String problem) {
        engine.act(fx -> {
            if (!worker.isStopping()) {
                LOG.warn("worker {} broke the protocol: {}; killing it", worker, problem);
            }
            engine.stops.begin(worker, FailureReason.PROTOCOL_ERROR, problem, WorkerStops.Mode.KILL, fx);
        });
    }

    /** A start failure in one line: how the worker ended, and the last thing it wrote. */
    private String startFailure(ExitStatus status, String tail) {
        String lastLine = tail.lines().filter(line -> !line.isBlank()).reduce((a, b) -> b).orElse("");
        if (lastLine.length() > 300) {
            lastLine = lastLine.substring(0, 300) + "…";
        }
        return (worker.stopDetail != null ? worker.stopDetail + "; " : "") + "exited before ready: " + status
                + (lastLine.isEmpty() ? "" : "; its last words: " + lastLine);
    }

    private static String lastLines(String text, int max) {
        List<String> lines = text.lines().toList();
        return String.join("\n", lines.subList(Math.max(0, lines.size() - max), lines.size()));
    }

    /** The process has exited: its tasks fail (and may be retried), and it is replaced if needed. */
    @Override
    public void onExit(ExitStatus status) {
        engine.workerExited(worker.id);
        WorkerOutput.workerGone(engine.ctx.name(), worker.id); // its last count of dropped lines
        long oomKills = engine.oomKills(); // read before taking the lock: it is file I/O
        engine.act(fx -> {
            boolean wasStarting = worker.state == WorkerState.STARTING;
            FailureReason reason = engine.supervisor.onExit(worker, status, oomKills);
            String detail = "worker " + worker.id + " (pid " + worker.pid + ") " + status
                    + (worker.stopDetail != null ? ": " + worker.stopDetail : "");
            for (TaskRecord task : List.copyOf(worker.inFlight.values())) {
                engine.attempts.release(task, worker);
                if (!task.state.isTerminal()) {
                    // Only the task that timed out fails TIMEOUT; others on the same worker lost their worker.
                    FailureReason taskReason = task.timedOut ? FailureReason.TIMEOUT
                            : reason == FailureReason.TIMEOUT ? FailureReason.WORKER_CRASHED : reason;
                    // sent to a worker already dead (its pipe refused the frame): it never ran, so no backoff
                    boolean refused = task.frameEnd > 0 && worker.process != null
                            && worker.process.refused(task.frameEnd);
                    engine.attempts.failed(task, worker, taskReason, refused ? detail + "; the task's frame never "
                            + "reached it" : detail, status, null, true, refused, fx);
                }
            }
            if (wasStarting) {
                String tail = worker.process == null ? "(no output)" : worker.process.output().text();
                // the cause first; the command, whose class path can be long, last and shortened
                String problem = "worker " + worker.id + " of group \"" + worker.group.name() + "\" "
                        + startFailure(status, tail) + "; stderr tail:\n" + lastLines(tail, 20) + "\ncommand: "
                        + WorkerCommands.describe(worker.command != null ? worker.command
                        : WorkerCommands.argv(worker.group.config.spec()));
                fx.quick(() -> worker.ready.completeExceptionally(new WorkerStartupException(problem)));
                engine.startFailed(worker, startFailure(status, tail), fx);
            }
            engine.workerGone(worker, fx);
        });
    }
}
