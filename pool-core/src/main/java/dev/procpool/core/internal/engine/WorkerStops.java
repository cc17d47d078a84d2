package dev.procpool.core.internal.engine;

import dev.procpool.FailureReason;
import dev.procpool.WorkerSpec;
import dev.procpool.WorkerState;
import dev.procpool.core.internal.process.WorkerConnection;
import dev.procpool.core.internal.supervise.MemoryProbe;
import dev.procpool.core.internal.supervise.StopEscalation;
import dev.procpool.core.internal.supervise.StopStage;
import dev.procpool.core.internal.text.Units;
import dev.procpool.core.internal.Loggers;
import org.slf4j.Logger;

/**
 * Stopping workers: how a stop begins (asked, input closed, a thread dump and SIGTERM, or SIGKILL) and how it
 * escalates ({@link StopEscalation}) until the process is gone. The signals and /proc reads are slow effects.
 */
final class WorkerStops {
    private static final Logger LOG = Loggers.pool();

    /** How a stop begins; it escalates to SIGTERM and then SIGKILL after a grace period each. */
    enum Mode {
        /** A shutdown frame and end of input: for idle workers. */
        ASK,
        /** End of input only: the worker must exit at once. */
        CLOSE_INPUT,
        /** A thread dump for JVMs (SIGQUIT), then SIGTERM: for workers that stopped answering. */
        TERMINATE,
        /** SIGKILL at once: for workers that broke the protocol or their memory limit. */
        KILL
    }

    private final EngineContext ctx;
    private final MemoryProbe memory;
    private final long graceNanos;

    WorkerStops(EngineContext ctx, MemoryProbe memory) {
        this.ctx = ctx;
        this.memory = memory;
        this.graceNanos = ctx.config.stopGracePeriod().toNanos();
    }

    /**
     * Begins stopping a worker (or makes a stop harsher with {@link Mode#KILL}). The first cause given is the one its
     * running tasks fail with.
     */
    void begin(WorkerRecord worker, FailureReason cause, String detail, Mode mode, Effects fx) {
        ctx.assertLocked();
        if (worker.state == WorkerState.DEAD) {
            return;
        }
        if (cause != null && worker.stopCause == null) {
            worker.stopCause = cause;
            worker.stopDetail = detail;
        }
        if (worker.isStopping() && mode != Mode.KILL) {
            return;
        }
        worker.stopStageAt = ctx.now();
        if (cause == FailureReason.HUNG || cause == FailureReason.TIMEOUT) {
            worker.state = WorkerState.ZOMBIE;
        } else if (worker.state != WorkerState.STARTING) {
            worker.state = WorkerState.RETIRING;
        }
        WorkerConnection process = worker.process;
        boolean first = worker.stopStage == StopStage.NONE;
        boolean javaWorker = worker.group.config.spec() instanceof WorkerSpec.Java;
        switch (mode) {
            case ASK -> {
                worker.stopStage = StopStage.ASKED;
                if (process != null) {
                    byte[] shutdown = ctx.codec.encodeShutdown();
                    fx.slow(() -> {
                        process.rememberDescendants();
                        process.send(shutdown);
                        process.closeStdin();
                    });
                }
            }
            case CLOSE_INPUT -> {
                worker.stopStage = StopStage.ASKED;
                if (process != null) {
                    fx.slow(() -> {
                        process.rememberDescendants();
                        process.closeStdin();
                    });
                }
            }
            case TERMINATE -> {
                worker.stopStage = javaWorker ? StopStage.DUMPING : StopStage.TERMINATED;
                if (process != null) {
                    long pid = worker.pid;
                    fx.slow(() -> {
                        process.rememberDescendants();
                        String status = memory.processStatus(pid);
                        status.lines().filter(l -> l.startsWith("State:") || l.startsWith("VmRSS:")
                                || l.startsWith("Threads:")).forEach(l -> process.output().add("[/proc] " + l));
                        if (javaWorker) {
                            process.signal("QUIT"); // the JVM prints a thread dump on stdout; it lands in the tail
                        } else {
                            process.terminate();
                        }
                    });
                }
            }
            case KILL -> {
                worker.stopStage = StopStage.KILLED;
                if (process != null) {
                    fx.slow(() -> {
                        if (first) {
                            process.rememberDescendants();
                        }
                        process.closeStdin();
                        process.kill();
                    });
                }
            }
        }
        ctx.dueAt(dueAt(worker));
    }

    /** Takes the next step of a stop if it is due at {@code now}. */
    void escalate(WorkerRecord worker, long now, Effects fx) {
        ctx.assertLocked();
        WorkerConnection process = worker.process;
        if (process == null) {
            return; // not launched yet: its launch sees the stop and kills it
        }
        StopEscalation.Step step = StopEscalation.next(worker.stopStage, worker.stopStageAt, now, graceNanos);
        if (step.action() == StopEscalation.Action.NONE) {
            return;
        }
        if (worker.stopStage == StopStage.ASKED) {
            LOG.info("worker {} did not exit within {}; sending SIGTERM", worker,
                    Units.duration(ctx.config.stopGracePeriod()));
        } else if (worker.stopStage == StopStage.TERMINATED) {
            LOG.warn("worker {} did not exit within {} of SIGTERM; sending SIGKILL", worker,
                    Units.duration(ctx.config.stopGracePeriod()));
        }
        worker.stopStage = step.stage();
        worker.stopStageAt = now;
        fx.slow(step.action() == StopEscalation.Action.SIGTERM ? process::terminate : process::kill);
    }

    /** When the next step of a worker's stop falls due. */
    long dueAt(WorkerRecord worker) {
        return StopEscalation.dueAt(worker.stopStage, worker.stopStageAt, graceNanos);
    }
}
