package dev.procpool.core.internal.process;

import dev.procpool.core.internal.protocol.BoundedLineReader;
import dev.procpool.core.internal.protocol.Frame;
import dev.procpool.core.internal.protocol.FrameCodec;
import dev.procpool.core.internal.protocol.FrameTooLargeException;
import dev.procpool.WorkerSpec;
import dev.procpool.core.internal.Loggers;
import org.slf4j.Logger;

import java.io.BufferedReader;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;

/**
 * One running worker process: its pipes, a reader thread for stdout (frames), one for stderr (logs), a
 * {@link FrameWriter} for stdin, its {@link ProcessTree}, and a watch on the process itself. It reports to a
 * {@link Listener} and decides nothing itself.
 *
 * <p>The exit is seen from the process, not only from its stdout: a child that inherited stdout would keep the pipe
 * open after the worker died. Once the worker has exited, whatever is left of its tree is killed at once, which
 * closes the pipe; the reader delivers every frame still in it and then reports the exit. If the pipe stays open
 * even so (held by a process this user cannot see or signal), the exit is reported once the reader has sat in a
 * read with nothing arriving, and nothing read after that is delivered.
 */
public final class WorkerProcess implements WorkerConnection {
    private static final Logger LOG = Loggers.pool();
    private static final int TAIL_LINES = 50;
    /** Lines already buffered are handed over together, up to this many. */
    private static final int MAX_LINES_PER_BATCH = 64;
    /** After the worker's exit and the killing of its tree, how long its stdout may take to reach end of file. */
    private static final long PIPE_CLOSE_WAIT_MILLIS = 1000;
    /** How long the reader must wait in a read with nothing arriving before the exit is reported without EOF. */
    private static final long QUIET_READER_MILLIS = 200;

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

        /** The worker wrote a line to stderr (control characters already escaped with {@link SafeText}). */
        default void onStderr(String line) {
        }

        /** The worker broke the protocol in a way that is fatal to it (a line over the limit, stdin closed). */
        void onProtocolError(String problem);

        /**
         * The worker's stdout reached its end, after every frame in it was delivered: it can answer nothing more, and
         * is dying or dead. Comes before {@link #onExit}, which may take a while (the process must be reaped and its
         * tree cleared first); the task sent to it meanwhile would be lost with it.
         */
        default void onStdoutEnded() {
        }

        /**
         * The process has exited and what is left of its tree was killed; every frame it wrote before exiting was
         * delivered first. Called once; no frame is delivered after it.
         */
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
    private final ProcessTree tree;
    private final Listener listener;
    /** How long a worker whose stdin refused a write has to exit before that counts as a protocol error. */
    private static final java.time.Duration WRITE_FAILURE_GRACE = java.time.Duration.ofSeconds(1);
    private final FrameWriter writer;
    private final WatchedInput stdout;
    private final OutputTail stderrTail = new OutputTail(TAIL_LINES);
    /** Held while frames or the exit are handed to the listener, so that no frame follows the exit. */
    private final Object delivery = new Object();
    private boolean exitReported; // guarded by delivery
    private final Object treeLock = new Object();
    private boolean treeCleared; // guarded by treeLock
    private final CountDownLatch readerDone = new CountDownLatch(1);
    private Thread stderrPump;

    private WorkerProcess(String workerId, Process process, ProcessTree tree, ThreadFactory threads,
                          Listener listener) {
        this.workerId = workerId;
        this.process = process;
        this.tree = tree;
        this.listener = listener;
        this.stdout = new WatchedInput(process.getInputStream());
        this.writer = new FrameWriter(process.getOutputStream(), named(threads, workerId + "-in"),
                e -> writeFailed(process, listener, e));
    }

    /**
     * A write to the worker's stdin failed. Usually the worker has just died (a broken pipe): then its exit, reported
     * by the watch on the process, says why, and the tasks it held fail as a crash. Only a worker still alive after
     * {@link #WRITE_FAILURE_GRACE} broke the protocol (it closed its stdin). Never blocks: the write may have run on
     * a reader thread.
     */
    private static void writeFailed(Process process, Listener listener, java.io.IOException e) {
        process.onExit().orTimeout(WRITE_FAILURE_GRACE.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS)
                .whenComplete((exited, stillAlive) -> {
                    if (stillAlive != null) {
                        listener.onProtocolError("writing to the worker's stdin failed: " + e.getMessage());
                    }
                });
    }

    /**
     * Launches a worker, in a session and process group of its own where the system allows it, with the marker of
     * its tree in its environment, and starts its reader threads and the watch on its exit.
     *
     * @throws IOException if the program cannot be started (not found, not executable)
     */
    public static WorkerProcess launch(String workerId, LaunchSpec spec, FrameCodec codec, int maxFrameBytes,
                                       ThreadFactory threads, Listener listener) throws IOException {
        boolean ownSession = Sessions.available();
        ProcessBuilder builder = new ProcessBuilder(ownSession
                ? Sessions.inOwnSession(spec.argv(), spec.workingDirectory()) : spec.argv());
        builder.environment().clear();
        builder.environment().putAll(spec.environment());
        String marker = ProcessTree.newMarker();
        builder.environment().put(ProcessTree.MARKER_VARIABLE, marker);
        if (spec.workingDirectory() != null) {
            builder.directory(spec.workingDirectory().toFile());
        }
        Process process = builder.start();
        ProcessTree tree = ProcessTree.of(process, marker, ownSession);
        WorkerProcess worker = new WorkerProcess(workerId, process, tree, threads, listener);
        listener.onLaunched(worker);
        worker.stderrPump = named(threads, workerId + "-err").newThread(worker::pumpStderr);
        worker.stderrPump.start();
        named(threads, workerId + "-out").newThread(() -> worker.readFrames(codec, maxFrameBytes)).start();
        TreeRecorder.add(tree);
        ThreadFactory exitThreads = named(threads, workerId + "-exit");
        process.onExit().thenRunAsync(worker::afterExit, task -> exitThreads.newThread(task).start());
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

    @Override
    public boolean refused(long frameEnd) {
        return writer.refused(frameEnd);
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
     * Records the worker's child processes (pid and start time), so that they can be killed after the worker itself
     * is gone, when they are no longer its descendants. They are also recorded twice a second while it lives.
     */
    @Override
    public void rememberDescendants() {
        try {
            tree.record();
        } catch (RuntimeException e) {
            LOG.debug("cannot list the children of worker {}", workerId, e);
        }
    }

    /** SIGTERM to the worker and the children in its group; the rest of its tree is killed when it exits. */
    @Override
    public void terminate() {
        tree.terminate();
    }

    /** SIGKILL to the worker and its whole tree (see {@link ProcessTree}). */
    @Override
    public void kill() {
        try {
            tree.killAll();
        } catch (RuntimeException e) {
            LOG.warn("procpool: killing the processes of worker {} failed", workerId, e);
            process.toHandle().destroyForcibly(); // not Process.destroyForcibly(): it would close the pipes
        }
    }

    /** Sends a signal by name (QUIT, STOP, CONT, …) to the worker alone; for diagnostics and tests. */
    @Override
    public boolean signal(String name) {
        return Sessions.signal(pid(), name);
    }

    private void readFrames(FrameCodec codec, int maxFrameBytes) {
        try {
            BoundedLineReader reader = new BoundedLineReader(stdout, maxFrameBytes);
            List<Frame> frames = new ArrayList<>();
            try {
                int length;
                while ((length = reader.nextLine()) >= 0) {
                    frames.add(safe(codec.decode(reader.buffer(), length)));
                    // lines that have arrived already go along: one hand-over for a burst of answers
                    if (frames.size() == MAX_LINES_PER_BATCH || !reader.hasLine()) {
                        deliver(frames);
                    }
                }
                deliver(frames);
                reportStdoutEnded();
            } catch (FrameTooLargeException e) {
                deliver(frames); // the lines before the oversized one are good
                reportProtocolError(e.getMessage());
                discard(stdout);
            } catch (IOException e) {
                deliver(frames);
                LOG.debug("reading the stdout of worker {} failed", workerId, e);
            } catch (RuntimeException | Error e) {
                LOG.error("procpool bug: handling a frame of worker {} failed; stopping the worker", workerId, e);
                reportProtocolError("internal error while handling a frame: " + e);
                discard(stdout);
            }
            ExitStatus status = awaitExit();
            clearTree();
            try {
                stderrPump.join(1000); // so that the exit report carries the last words on stderr
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            reportExit(status);
        } finally {
            readerDone.countDown();
        }
    }

    /** A line that is not a frame is logged and kept in the tail: its text is escaped here, where it enters. */
    private static Frame safe(Frame frame) {
        if (frame instanceof Frame.NotAFrame line) {
            return new Frame.NotAFrame(line.why() == null ? null : SafeText.escape(line.why()),
                    line.text() == null ? null : SafeText.escape(line.text()));
        }
        return frame;
    }

    private void deliver(List<Frame> frames) {
        if (frames.isEmpty()) {
            return;
        }
        try {
            synchronized (delivery) {
                if (!exitReported) {
                    listener.onFrames(frames);
                }
            }
        } finally {
            frames.clear();
        }
    }

    private void reportStdoutEnded() {
        synchronized (delivery) {
            if (!exitReported) {
                listener.onStdoutEnded();
            }
        }
    }

    private void reportProtocolError(String problem) {
        synchronized (delivery) {
            if (!exitReported) {
                listener.onProtocolError(problem);
            }
        }
    }

    private void reportExit(ExitStatus status) {
        synchronized (delivery) {
            if (!exitReported) {
                exitReported = true;
                listener.onExit(status);
            }
        }
    }

    /** Stdout reached its end: the process is exiting. A process that closed stdout but runs on is killed. */
    private ExitStatus awaitExit() {
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

    /**
     * Runs on a thread of its own once the worker process has exited, whatever its stdout does: kills what is left
     * of its tree, which closes the pipe so that the reader delivers the last frames and reports the exit; if the
     * pipe stays open, kills whoever holds it; failing that, reports the exit itself.
     */
    private void afterExit() {
        TreeRecorder.remove(tree);
        try {
            clearTree();
            if (awaitReader(PIPE_CLOSE_WAIT_MILLIS)) {
                return;
            }
            List<ProcStat> holders = tree.killPipeHolders();
            if (awaitReader(PIPE_CLOSE_WAIT_MILLIS)) {
                return;
            }
            // The pipe is still open, or the reader still busy with what the worker wrote before it exited: wait
            // until the reader has taken it all, that is, until it waits in a read in which nothing arrives.
            while (!readerQuiet()) {
                if (awaitReader(QUIET_READER_MILLIS)) {
                    return;
                }
            }
            LOG.warn("worker {} exited ({}) but its stdout stays open{}; reporting its exit without end of file",
                    workerId, new ExitStatus(process.exitValue()),
                    holders.isEmpty() ? " (held by a process this user cannot see)"
                            : " (held by " + SafeText.escape(holders.toString()) + ", which did not die)");
            reportExit(new ExitStatus(process.exitValue()));
        } catch (RuntimeException | Error e) {
            LOG.error("procpool bug: watching the exit of worker {} failed", workerId, e);
        }
    }

    /** Whether the reader waits in a read, and went on waiting with nothing arriving for a while. */
    private boolean readerQuiet() {
        long reads = stdout.reads;
        if (!stdout.waiting) {
            return false;
        }
        try {
            if (readerDone.await(QUIET_READER_MILLIS, TimeUnit.MILLISECONDS)) {
                return false; // the reader finished after all: nothing to report here
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return stdout.waiting && stdout.reads == reads;
    }

    private boolean awaitReader(long millis) {
        try {
            return readerDone.await(millis, TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return true;
        }
    }

    /** Once the worker has exited: kills whatever is left of its tree, once, and returns when that is done. */
    private void clearTree() {
        synchronized (treeLock) {
            if (!treeCleared) {
                treeCleared = true;
                kill();
            }
        }
    }

    private static void discard(InputStream in) {
        try {
            in.transferTo(OutputStream.nullOutputStream());
        } catch (IOException ignored) {
            // the process is gone
        }
    }

    private void pumpStderr() {
        try (BufferedReader reader = new BufferedReader(
                new InputStreamReader(process.getErrorStream(), StandardCharsets.UTF_8))) {
            String line;
            while ((line = readBoundedLine(reader)) != null) {
                String safe = SafeText.escape(line);
                stderrTail.add(safe);
                listener.onStderr(safe);
            }
        } catch (IOException e) {
            LOG.debug("reading the stderr of worker {} failed", workerId, e);
        }
    }

    /**
     * Reads a line, keeping at most {@link OutputTail#MAX_LINE_CHARS} × 4 characters of it; a {@code \r} before the
     * {@code \n} ends the line with it, one elsewhere is kept (and escaped later, as it could forge a log line).
     */
    private static String readBoundedLine(BufferedReader reader) throws IOException {
        StringBuilder line = new StringBuilder();
        int c;
        while ((c = reader.read()) != -1) {
            if (c == '\n') {
                break;
            }
            if (line.length() < OutputTail.MAX_LINE_CHARS * 4) {
                line.append((char) c);
            }
        }
        if (c == -1 && line.length() == 0) {
            return null;
        }
        if (line.length() > 0 && line.charAt(line.length() - 1) == '\r') {
            line.setLength(line.length() - 1);
        }
        return line.toString();
    }

    /** The worker's stdout, telling whether its reader waits in a read and how many reads have returned. */
    private static final class WatchedInput extends FilterInputStream {
        volatile boolean waiting;
        /** Written by the reader thread only. */
        volatile long reads;

        WatchedInput(InputStream in) {
            super(in);
        }

        @Override
        public int read() throws IOException {
            waiting = true;
            try {
                return in.read();
            } finally {
                waiting = false;
                reads++;
            }
        }

        @Override
        public int read(byte[] bytes, int offset, int length) throws IOException {
            waiting = true;
            try {
                return in.read(bytes, offset, length);
            } finally {
                waiting = false;
                reads++;
            }
        }
    }
}
