package dev.procpool.core.internal.engine;

import dev.procpool.core.internal.process.ExitStatus;
import dev.procpool.core.internal.process.OutputTail;
import dev.procpool.core.internal.process.WorkerConnection;
import dev.procpool.core.internal.process.WorkerLauncher;
import dev.procpool.core.internal.process.WorkerProcess;
import dev.procpool.core.internal.protocol.Frame;
import dev.procpool.core.internal.protocol.FrameCodec;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * A launcher of fake worker processes. Like {@link WorkerProcess#launch}, it calls the listener's
 * {@code onLaunched} before it returns; the test then plays the worker side through {@link FakeWorker}.
 */
final class FakeWorkers implements WorkerLauncher {
    private final FrameCodec codec;
    private final List<FakeWorker> launched = new ArrayList<>();
    private long nextPid = 4000;
    private IOException failNext;

    FakeWorkers(FrameCodec codec) {
        this.codec = codec;
    }

    @Override
    public synchronized WorkerConnection launch(String workerId, WorkerProcess.LaunchSpec spec,
                                                WorkerProcess.Listener listener) throws IOException {
        if (failNext != null) {
            IOException failure = failNext;
            failNext = null;
            throw failure;
        }
        FakeConnection connection = new FakeConnection(++nextPid, codec);
        FakeWorker worker = new FakeWorker(workerId, spec, listener, connection, codec);
        launched.add(worker);
        listener.onLaunched(connection);
        return connection;
    }

    /** Makes the next launch throw, as a missing program does. */
    synchronized void failNextLaunch(IOException failure) {
        failNext = failure;
    }

    synchronized int count() {
        return launched.size();
    }

    synchronized List<FakeWorker> all() {
        return List.copyOf(launched);
    }

    synchronized FakeWorker get(String workerId) {
        return launched.stream().filter(w -> w.id.equals(workerId)).findFirst()
                .orElseThrow(() -> new AssertionError("no worker " + workerId + " was launched; launched: "
                        + launched.stream().map(w -> w.id).toList()));
    }

    synchronized FakeWorker last() {
        if (launched.isEmpty()) {
            throw new AssertionError("no worker was launched");
        }
        return launched.get(launched.size() - 1);
    }

    /** The worker side of one fake process: frames it sends, and its death. */
    static final class FakeWorker {
        final String id;
        final WorkerProcess.LaunchSpec spec;
        final WorkerProcess.Listener listener;
        final FakeConnection connection;
        private final FrameCodec codec;

        FakeWorker(String id, WorkerProcess.LaunchSpec spec, WorkerProcess.Listener listener,
                   FakeConnection connection, FrameCodec codec) {
            this.id = id;
            this.spec = spec;
            this.listener = listener;
            this.connection = connection;
            this.codec = codec;
        }

        long pid() {
            return connection.pid();
        }

        /** Sends a line as the worker's stdout reader would deliver it (without the newline). */
        FakeWorker sendLine(byte[] bytes) {
            int end = bytes.length;
            while (end > 0 && (bytes[end - 1] == '\n' || bytes[end - 1] == '\r')) {
                end--;
            }
            listener.onFrame(codec.decode(Arrays.copyOf(bytes, end)));
            return this;
        }

        /** Sends results that arrive together, as the stdout reader hands over a burst of lines. */
        FakeWorker results(String... taskIds) {
            List<Frame> frames = new ArrayList<>();
            for (String taskId : taskIds) {
                byte[] frame = codec.encodeResult(taskId, "1".getBytes(StandardCharsets.UTF_8));
                frames.add(codec.decode(frame, frame.length - 1));
            }
            listener.onFrames(frames);
            return this;
        }

        /** Results that arrive together, each saying the worker spent {@code runNanos} on its task. */
        FakeWorker timedResults(long runNanos, String... taskIds) {
            List<Frame> frames = new ArrayList<>();
            for (String taskId : taskIds) {
                byte[] frame = codec.encodeResult(taskId, "1".getBytes(StandardCharsets.UTF_8), runNanos);
                frames.add(codec.decode(frame, frame.length - 1));
            }
            listener.onFrames(frames);
            return this;
        }

        FakeWorker ready() {
            return ready(List.of(), 1);
        }

        FakeWorker ready(List<String> taskTypes, int maxConcurrency) {
            return sendLine(codec.encodeReady(pid(), taskTypes, List.of(), maxConcurrency));
        }

        FakeWorker heartbeat() {
            return heartbeat(0);
        }

        FakeWorker heartbeat(long rssBytes) {
            return sendLine(codec.encodeHeartbeat(rssBytes, 0, 0));
        }

        FakeWorker result(String taskId, String json) {
            return sendLine(codec.encodeResult(taskId, json.getBytes(StandardCharsets.UTF_8)));
        }

        FakeWorker error(String taskId, String kind, boolean retryable) {
            return sendLine(codec.encodeError(taskId, kind, "com.example.Boom", "it broke",
                    "com.example.Boom: it broke\n\tat Handler.handle(Handler.java:1)", retryable));
        }

        /** Writes a line to stderr as the worker's stderr pump delivers it: into the output tail, then to the listener. */
        FakeWorker stderr(String line) {
            connection.output().add(line);
            listener.onStderr(line);
            return this;
        }

        /** Sends a log frame; {@code taskId} may be null for a line not tagged with a task. */
        FakeWorker log(String level, String message, String taskId) {
            return sendLine(codec.encodeLog(level, message, taskId));
        }

        /** Sends a progress frame for a task. */
        FakeWorker progress(String taskId, double fraction, String message) {
            return sendLine(codec.encodeProgress(taskId, fraction, message));
        }

        /** Its stdout reaches its end (the process is dying; its exit comes later). */
        void stdoutEnded() {
            listener.onStdoutEnded();
        }

        /** The process ends with this code (128 + N for death by signal N). */
        void exit(int code) {
            listener.onExit(new ExitStatus(code));
        }

        List<Frame.Task> tasks() {
            return connection.framesOf(Frame.Task.class);
        }

        Frame.Task lastTask() {
            List<Frame.Task> tasks = tasks();
            if (tasks.isEmpty()) {
                throw new AssertionError("worker " + id + " was sent no task");
            }
            return tasks.get(tasks.size() - 1);
        }

        List<String> cancels() {
            return connection.framesOf(Frame.Cancel.class).stream().map(Frame.Cancel::id).toList();
        }

        int shutdowns() {
            return connection.framesOf(Frame.Shutdown.class).size();
        }
    }

    /** What the engine sees of a fake process; records everything done to it, in order. */
    static final class FakeConnection implements WorkerConnection {
        private final long pid;
        private final FrameCodec codec;
        private final OutputTail tail = new OutputTail(50);
        private final List<Frame> frames = new ArrayList<>();
        private final List<String> actions = new ArrayList<>();
        private long offered;
        private long consumed;
        private int writes;
        /** Frames ending past this offset were refused by the pipe (the worker died before they were written). */
        private long refusedAfter = Long.MAX_VALUE;

        FakeConnection(long pid, FrameCodec codec) {
            this.pid = pid;
            this.codec = codec;
        }

        @Override
        public long pid() {
            return pid;
        }

        @Override
        public synchronized long send(byte[] bytes) {
            if (bytes.length == 0 || bytes[bytes.length - 1] != '\n') {
                throw new AssertionError("the host sent bytes that do not end a frame: "
                        + new String(bytes, StandardCharsets.UTF_8));
            }
            int start = 0;
            for (int i = 0; i < bytes.length; i++) {
                if (bytes[i] == '\n') {
                    byte[] frame = Arrays.copyOfRange(bytes, start, i);
                    Frame decoded = codec.decode(frame);
                    if (decoded instanceof Frame.NotAFrame notAFrame) {
                        throw new AssertionError("the host sent a malformed frame (" + notAFrame.why() + "): "
                                + new String(frame, StandardCharsets.UTF_8));
                    }
                    frames.add(decoded);
                    actions.add("send:" + decoded.getClass().getSimpleName());
                    start = i + 1;
                }
            }
            offered += bytes.length;
            writes++;
            return offered;
        }

        /** From now on the pipe refuses every frame, as a dead worker's does. */
        synchronized void refuseFromNowOn() {
            refusedAfter = offered;
        }

        @Override
        public synchronized boolean refused(long frameEnd) {
            return frameEnd > refusedAfter;
        }

        @Override
        public synchronized void consumedUpTo(long offset) {
            consumed = Math.max(consumed, offset);
        }

        @Override
        public synchronized void closeStdin() {
            actions.add("closeStdin");
        }

        @Override
        public synchronized void rememberDescendants() {
            actions.add("rememberDescendants");
        }

        @Override
        public synchronized void terminate() {
            actions.add("terminate");
        }

        @Override
        public synchronized void kill() {
            actions.add("kill");
        }

        @Override
        public synchronized boolean signal(String name) {
            actions.add("signal:" + name);
            return true;
        }

        @Override
        public OutputTail output() {
            return tail;
        }

        synchronized List<Frame> frames() {
            return List.copyOf(frames);
        }

        <T extends Frame> List<T> framesOf(Class<T> type) {
            return frames().stream().filter(type::isInstance).map(type::cast).toList();
        }

        /** Everything done to the process, in order: "send:Task", "closeStdin", "signal:QUIT", "terminate", "kill". */
        synchronized List<String> actions() {
            return List.copyOf(actions);
        }

        /** The actions that stop a process (signals, end of input), without frames and bookkeeping. */
        synchronized List<String> stopActions() {
            return actions.stream().filter(a -> !a.startsWith("send:") && !a.equals("rememberDescendants")).toList();
        }

        /** How many times the host wrote to the process (several frames may go in one write). */
        synchronized int writes() {
            return writes;
        }

        synchronized long consumed() {
            return consumed;
        }

        synchronized long offered() {
            return offered;
        }
    }
}
