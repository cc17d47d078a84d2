package dev.procpool.core.internal.supervise;

/**
 * The next step of stopping a worker that has not exited yet, as a pure function of time: each stage gets a grace
 * period (a thread dump gets at most {@link #THREAD_DUMP_WAIT_NANOS}), then SIGTERM, then SIGKILL, and SIGKILL again
 * every grace period while the process lingers (a child may have been started after the first sweep).
 */
public final class StopEscalation {
    /** How long a JVM gets to print the thread dump asked for with SIGQUIT before SIGTERM. */
    public static final long THREAD_DUMP_WAIT_NANOS = 500_000_000L;

    /** What to do now. */
    public enum Action { NONE, SIGTERM, SIGKILL }

    /** The action, and the stage the worker is in after it. */
    public record Step(Action action, StopStage stage) {
        static final Step WAIT = new Step(Action.NONE, null);
    }

    private StopEscalation() {
    }

    /** The step due at {@code now} for a stop that reached {@code stage} at {@code stageAt}. */
    public static Step next(StopStage stage, long stageAt, long now, long graceNanos) {
        if (stage == StopStage.NONE || now - dueAt(stage, stageAt, graceNanos) < 0) {
            return Step.WAIT;
        }
        return switch (stage) {
            case ASKED, DUMPING -> new Step(Action.SIGTERM, StopStage.TERMINATED);
            case TERMINATED, KILLED -> new Step(Action.SIGKILL, StopStage.KILLED);
            case NONE -> Step.WAIT;
        };
    }

    /** When the next step of a stop in {@code stage} since {@code stageAt} falls due. */
    public static long dueAt(StopStage stage, long stageAt, long graceNanos) {
        long wait = stage == StopStage.DUMPING ? Math.min(graceNanos, THREAD_DUMP_WAIT_NANOS) : graceNanos;
        return stageAt + wait;
    }
}
