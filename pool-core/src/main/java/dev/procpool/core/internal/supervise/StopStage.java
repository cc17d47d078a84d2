package dev.procpool.core.internal.supervise;

/** How far the stop of a worker has escalated. */
public enum StopStage {
    /** Not being stopped. */
    NONE,
    /** Asked to exit (a {@code shutdown} frame and end of input, or end of input alone). */
    ASKED,
    /** A JVM asked for a thread dump (SIGQUIT) before SIGTERM, so that the hang can be explained. */
    DUMPING,
    /** Sent SIGTERM. */
    TERMINATED,
    /** Sent SIGKILL. */
    KILLED
}
