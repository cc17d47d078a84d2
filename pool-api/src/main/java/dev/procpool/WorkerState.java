package dev.procpool;

/** A worker's lifecycle: {@code STARTING → IDLE ⇄ BUSY → RETIRING / ZOMBIE → DEAD}. */
public enum WorkerState {
    /** Process launched; waiting for its {@code ready} frame. */
    STARTING,
    /** Ready and running no task. */
    IDLE,
    /** Running at least one task. */
    BUSY,
    /** Asked to stop; takes no new tasks. */
    RETIRING,
    /** Stopped answering (heartbeats lost or timed out); being killed. */
    ZOMBIE,
    /** The process has exited. */
    DEAD
}
