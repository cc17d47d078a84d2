package dev.procpool.core.internal.worker;

import java.io.IOException;

/**
 * What the worker runtime lets the fault-injection handler do to the worker it runs in: reach where no ordinary
 * handler should, so that faults are real (a worker that stops heartbeating, garbage where frames go). Handed to a
 * task through its {@link WorkerTaskContext}, never through static state; workers that cannot do these (the
 * in-process worker) hand out {@link #NONE}.
 */
public interface WorkerControls {
    /** Controls that do nothing: for workers where these faults make no sense. */
    WorkerControls NONE = new WorkerControls() {
        @Override
        public void pauseHeartbeats() {
        }

        @Override
        public void writeRawLine(byte[] line) {
        }
    };

    /** Stops the worker's heartbeats for the rest of its life: it looks hung to the host. */
    void pauseHeartbeats();

    /** Writes bytes where frames go, whole, between frames. */
    void writeRawLine(byte[] line) throws IOException;
}
