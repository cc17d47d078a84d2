package dev.procpool.core.internal.process;

import dev.procpool.core.internal.protocol.BoundedLineReader;
import dev.procpool.core.internal.protocol.Frame;
import dev.procpool.core.internal.protocol.FrameCodec;
import dev.procpool.core.internal.protocol.FrameTooLargeException;
import dev.procpool.WorkerSpec;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;

/**
 * One running worker process: its pipes, a reader thread for stdout (frames), one for stderr (logs), a
 * {@link FrameWriter} for stdin, and the means to stop it and its children. It reports to a {@link Listener} and
 * decides nothing itself.
 */
public final class WorkerProcess implements WorkerConnection {
    private static final Logger LOG = LoggerFactory.getLogger(WorkerProcess.class);
    private static final int TAIL_LINES = 50;
    /** Lines already buffered are handed over together, up to this many. */
    private static final int MAX_LINES_PER_BATCH = 64;

    /** What the process reports; called from its reader threads. */
    public interface Listener {
        /** The process exists; called once, before any other event, on the launching thread. */
        void onLaunched(WorkerConnection process);

        /** A line arrived on stdout: a frame, or {@link Frame.NotAFrame} (which keeps the start of the line). */
        void onFrame(Frame frame);

        /**
         * Lines that arrived together on stdout, decoded, in order. A listener that can take them at once saves work
         * per line; by default each goes to {@link #onFrame}.
         */
        default void onFrames(List<Frame> frames) {
            frames.forEach(this::onFrame);
        }

        /** The worker wrote a line to stderr. */
        default void onStderr(String line) {
        }

        /** The worker broke the protocol in a way that is fatal to it (a line over the limit, stdin closed). */
        void onProtocolError(String problem);

        /** The process has exited and its stdout is closed. Called once. */
        void onExit(ExitStatus status);
    }

    /** What to launch; {@code worker} is the group's spec, for launchers that do not start a process. */
    public record LaunchSpec(List<String> argv, Map<String, String> environment, Path workingDirectory,
                             WorkerSpec worker) {
        public LaunchSpec {
            argv = List.copyOf(argv);
            environment = Map.copyOf(environment);
        }
    }

    private final String workerId;
    private final Process process;
    private final FrameWriter writer;
    private final OutputTail stderrTail = new OutputTail(TAIL_LINES);
    private volatile List<ProcessHandle> descendantsAtStop = List.of();
    private Thread stderrPump;

    private WorkerProcess(String workerId, Process process, ThreadFactory threads, Listener listener) {
        this.workerId = workerId;
        this.process = process;
        this.writer = new FrameWriter(process.getOutputStream(), named(threads, workerId + "-in"),
                e -> listener.onProtocolError("writing to the worker's stdin failed: " + e.getMessage()));
    }

    /**
     * Launches a worker and starts its reader threads.
     *
     * @throws IOException if the program cannot be started (not found, not executable)
     */
    public static WorkerProcess launch(String workerId, LaunchSpec spec, FrameCodec codec, int maxFrameBytes,
                                       ThreadFactory threads, Listener listener) throws IOException {
        ProcessBuilder builder = new ProcessBuilder(spec.argv());
        builder.environment().clear();
        builder.environment().putAll(spec.environment());
        if (spec.workingDirectory() != null) {
            builder.directory(spec.workingDirectory().toFile());
        }
        Process process = builder.start();
        WorkerProcess worker = new WorkerProcess(workerId, process, threads, listener);
        worker.listener = listener;
        listener.onLaunched(worker);
        worker.stderrPump = named(threads, workerId + "-err").newThread(worker::pumpStderr);
        worker.stderrPump.start();
        named(threads, workerId + "-out").newThread(() -> worker.readFrames(codec, maxFrameBytes, listener)).start();
        return worker;
    }

    private static ThreadFactory named(ThreadFactory threads, String suffix) {
        return runnable -> {
            Thread thread = threads.newThread(runnable);
            thread.setName(thread.getName() + suffix);
            return thread;
        };
    }

    @Override
    public long pid() {
        return process.pid();
    }

    public boolean isAlive() {
        return process.isAlive();
    }

    @Override
    public OutputTail output() {
        return stderrTail;
    }

    /** Sends frames; never blocks. Returns the offset past them (see {@link FrameWriter}). */
    @Override
    public long send(byte[] frames) {
        return writer.send(frames);
    }

    /** The worker has read all input before {@code offset}. */
    @Override
    public void consumedUpTo(long offset) {
        writer.consumedUpTo(offset);
    }

    /** Closes stdin: the worker should exit. */
    @Override
    public void closeStdin() {
        writer.close();
    }

    /**
     * Remembers the worker's child processes, so that they can be killed after the worker itself is gone (when they
     * would no longer be its descendants). Call before the first signal of a stop.
     */
    @Override
    public void rememberDescendants() {
        try {
            descendantsAtStop = process.descendants().toList();
        } catch (RuntimeException e) {
            LOG.debug("cannot list the children of worker {}", workerId, e);
        }
    }

    /** SIGTERM to the worker. */
    @Override
    public void terminate() {
        process.destroy();
    }

    /** SIGKILL to the worker, its current descendants and those remembered at the start of the stop. */
    @Override
    public void kill() {
        List<ProcessHandle> children = descendantsAtStop;
        try {
            children = java.util.stream.Stream.concat(children.stream(), process.descendants())
                    .distinct().toList();
        } catch (RuntimeException e) {
            LOG.debug("cannot list the children of worker {}", workerId, e);
        }
        process.destroyForcibly();
        for (ProcessHandle child : children) {
            child.destroyForcibly(); // ProcessHandle checks the start time, so a reused pid is never hit
        }
    }

    /** Sends a signal by name (QUIT, STOP, CONT, …) with the system's {@code kill}; for diagnostics and tests. */
    @Override
    public boolean signal(String name) {
        try {
            Process kill = new ProcessBuilder("kill", "-" + name, Long.toString(pid()))
                    .redirectErrorStream(true).start();
            kill.getInputStream().transferTo(java.io.OutputStream.nullOutputStream());
            return kill.waitFor(5, TimeUnit.SECONDS) && kill.exitValue() == 0;
        } catch (IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    private void readFrames(FrameCodec codec, int maxFrameBytes, Listener listener) {
        BoundedLineReader reader = new BoundedLineReader(process.getInputStream(), maxFrameBytes);
        List<Frame> frames = new java.util.ArrayList<>();
        try {
            int length;
            while ((length = reader.nextLine()) >= 0) {
                frames.add(codec.decode(reader.buffer(), length));
                // lines that have arrived already go along: one hand-over for a burst of answers
                if (frames.size() == MAX_LINES_PER_BATCH || !reader.hasLine()) {
                    deliver(listener, frames);
                }
            }
            deliver(listener, frames);
        } catch (FrameTooLargeException e) {
            deliver(listener, frames); // the lines before the oversized one are good
            listener.onProtocolError(e.getMessage());
            discard(process.getInputStream());
        } catch (IOException e) {
            deliver(listener, frames);
            LOG.debug("reading the stdout of worker {} failed", workerId, e);
        } catch (RuntimeException | Error e) {
            LOG.error("procpool bug: handling a frame of worker {} failed; stopping the worker", workerId, e);
            listener.onProtocolError("internal error while handling a frame: " + e);
            discard(process.getInputStream());
        }
        ExitStatus status = awaitExit();
        try {
            stderrPump.join(1000); // so that the exit report carries the last words on stderr
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        listener.onExit(status);
    }

    private static void deliver(Listener listener, List<Frame> frames) {
        if (!frames.isEmpty()) {
            try {
                listener.onFrames(frames);
            } finally {
                frames.clear();
            }
        }
    }

    private ExitStatus awaitExit() {
        // stdout closed: the process is exiting. A process that closed stdout but runs on is killed.
        try {
            if (!process.waitFor(10, TimeUnit.SECONDS)) {
                LOG.warn("worker {} closed its stdout but did not exit; killing it", workerId);
                kill();
            }
            return new ExitStatus(process.waitFor());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            kill();
            return new ExitStatus(128 + ExitStatus.SIGKILL);
        }
    }

    private static void discard(InputStream in) {
        try {
            in.transferTo(java.io.OutputStream.nullOutputStream());
        } catch (IOException ignored) {
            // the process is gone
        }
    }

    private Listener listener;

    private void pumpStderr() {
        try (BufferedReader reader = new BufferedReader(
                new InputStreamReader(process.getErrorStream(), StandardCharsets.UTF_8))) {
            String line;
            while ((line = readBoundedLine(reader)) != null) {
                stderrTail.add(line);
                listener.onStderr(line);
            }
        } catch (IOException e) {
            LOG.debug("reading the stderr of worker {} failed", workerId, e);
        }
    }

    /** Reads a line, keeping at most {@link OutputTail#MAX_LINE_CHARS} × 4 characters of it. */
    private static String readBoundedLine(BufferedReader reader) throws IOException {
        StringBuilder line = new StringBuilder();
        int c;
        while ((c = reader.read()) != -1) {
            if (c == '\n') {
                return line.toString();
            }
            if (c != '\r' && line.length() < OutputTail.MAX_LINE_CHARS * 4) {
                line.append((char) c);
            }
        }
        return line.length() == 0 ? null : line.toString();
    }
}
