package dev.procpool.core.internal.engine;

import dev.procpool.core.internal.process.ExitStatus;
import dev.procpool.core.internal.process.WorkerConnection;
import dev.procpool.core.internal.process.WorkerProcess;
import dev.procpool.core.internal.protocol.Frame;

import java.util.List;

/**
 * One worker's process events, passed to the engine. The process layer's threads only read and parse; every
 * decision is the engine's.
 */
final class WorkerEvents implements WorkerProcess.Listener {
    private final Engine engine;
    private final WorkerRecord worker;

    WorkerEvents(Engine engine, WorkerRecord worker) {
        this.engine = engine;
        this.worker = worker;
    }

    @Override
    public void onLaunched(WorkerConnection process) {
        if (engine.launched(worker, process)) {
            process.closeStdin(); // stopped while it was being launched
            process.kill();
        }
    }

    @Override
    public void onFrame(Frame frame) {
        engine.frames(worker, List.of(frame));
    }

    @Override
    public void onFrames(List<Frame> frames) {
        engine.frames(worker, frames);
    }

    @Override
    public void onStderr(String line) {
        engine.stderr(worker, line);
    }

    @Override
    public void onProtocolError(String problem) {
        engine.protocolError(worker, problem);
    }

    @Override
    public void onExit(ExitStatus status) {
        engine.workerExited(worker.id);
        long oomKills = engine.oomKills(); // read before taking the lock: it is file I/O
        engine.exited(worker, status, oomKills);
    }
}
