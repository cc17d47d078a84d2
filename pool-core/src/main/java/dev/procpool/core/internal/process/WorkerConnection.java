package dev.procpool.core.internal.process;

/** What the dispatcher needs of a running worker; {@link WorkerProcess} is the real one, tests use fakes. */
public interface WorkerConnection {
    long pid();

    /**
     * Sends one or more whole frames (each ending in {@code \n}) without blocking; returns the offset just past
     * them (see {@link FrameWriter}).
     */
    long send(byte[] frames);

    /** Whether the frame ending at {@code frameEnd} surely never reached the worker (see {@link FrameWriter}). */
    default boolean refused(long frameEnd) {
        return false;
    }

    /** The worker has read all input before {@code offset}. */
    void consumedUpTo(long offset);

    /** Ends the worker's stdin: it must exit. */
    void closeStdin();

    /** Remembers the current child processes, to kill them even after they are orphaned. */
    void rememberDescendants();

    /** SIGTERM. */
    void terminate();

    /** SIGKILL to the worker and its (remembered) children. */
    void kill();

    /** Sends a signal by name (QUIT, STOP, CONT …). */
    boolean signal(String name);

    /** The last lines of the worker's stderr (and stray stdout lines). */
    OutputTail output();
}
