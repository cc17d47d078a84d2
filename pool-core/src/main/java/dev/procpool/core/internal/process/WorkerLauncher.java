package dev.procpool.core.internal.process;

import java.io.IOException;

/** Starts worker processes; the seam that lets scheduling be tested without real processes. */
@FunctionalInterface
public interface WorkerLauncher {
    /**
     * Launches a worker. The listener's {@code onLaunched} is called before any other event.
     *
     * @throws IOException if the program cannot be started
     */
    WorkerConnection launch(String workerId, WorkerProcess.LaunchSpec spec, WorkerProcess.Listener listener)
            throws IOException;
}
