package dev.procpool.core.internal.worker;

import dev.procpool.TaskHandler;
import dev.procpool.core.internal.protocol.BoundedLineReader;
import dev.procpool.core.internal.protocol.Frame;
import dev.procpool.core.internal.protocol.FrameCodec;
import dev.procpool.core.internal.protocol.Payloads;

import java.io.BufferedOutputStream;
import java.io.FileDescriptor;
import java.io.FileInputStream;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;

/**
 * The Java worker runtime: the main class worker JVMs run. Arguments are the {@link dev.procpool.TaskHandler}
 * classes to serve. It speaks the protocol in PROTOCOL.md on stdin/stdout, moves {@code System.out} to stderr
 * before any user code runs, heartbeats from its own thread, runs each task on the thread that read it while
 * another thread reads on (at once while slots are free, within {@link ReaderHandOff#DELAY_NANOS} otherwise, so
 * cancels and shutdowns are seen during a task), and exits when stdin ends.
 */
public final class WorkerMain {
    /** Exit status when the worker cannot start (bad arguments, a handler that cannot be created). */
    public static final int EXIT_STARTUP_FAILURE = 2;
    /** Exit status after a reported OutOfMemoryError (the JVM's own ExitOnOutOfMemoryError also uses 3). */
    public static final int EXIT_OUT_OF_MEMORY = 3;

    /** A task shorter than this whose successor is already read lets its answer wait for company. */
    private static final long SHORT_TASK_NANOS = TimeUnit.MICROSECONDS.toNanos(100);
    private static final int MAX_WAITING_ANSWERS = 64;
    private static final long MAX_ANSWER_WAIT_NANOS = TimeUnit.MICROSECONDS.toNanos(200);

    /** Set through {@link WorkerControls} by fault injection, to simulate a worker that hangs silently. */
    private volatile boolean heartbeatsPaused;
    private final WorkerControls controls = new WorkerControls() {
        @Override
        public void pauseHeartbeats() {
            heartbeatsPaused = true;
        }

        @Override
        public void writeRawLine(byte[] line) throws IOException {
            writeRaw(line);
        }
    };
    /** The real stdout, for fault injection that writes garbage where frames go. */
    private static volatile OutputStream rawFrames;

    private final FrameCodec codec;
    private final OutputStream frames;
    private final HandlerInvoker invoker;
    private final int maxFrameBytes;
    /** The frame limit and the process's real stderr, for frames sent from static context (task output). */
    private static volatile int frameLimit = 16 << 20;
    private static volatile PrintStream realStderr = System.err;
    private final Map<String, WorkerTaskContext> running = new ConcurrentHashMap<>();
    private final int concurrency;
    /** Held by the one thread that reads stdin (leader/followers: no hand-off between reading and running). */
    private final Semaphore reader = new Semaphore(1);
    private final ReaderHandOff handOff = new ReaderHandOff(reader, this::flushAnswers);
    /** Answers written but not flushed, and since when (guarded by {@link #frames}). */
    private int waitingAnswers;
    private long waitingSince;
    /** Tasks read while every slot was busy (prefetched); started by the next thread that frees a slot. */
    private final ArrayDeque<WorkerTaskContext> waiting = new ArrayDeque<>();
    private int busy;
    private BoundedLineReader input;

    private WorkerMain(OutputStream frames, FrameCodec codec, HandlerInvoker invoker, int maxFrameBytes,
                       int concurrency) {
        this.frames = frames;
        this.codec = codec;
        this.invoker = invoker;
        this.maxFrameBytes = maxFrameBytes;
        this.concurrency = concurrency;
    }

    public static void main(String[] args) {
        // Frames own the real stdout; anything user code prints goes to stderr, which the host logs.
        OutputStream frames = new BufferedOutputStream(new FileOutputStream(FileDescriptor.out), 1 << 16);
        rawFrames = frames;
        // What a task prints becomes log frames carrying its id; anything else printed goes to stderr.
        PrintStream stderr = System.err;
        realStderr = stderr;
        frameLimit = intFromEnv("PROCPOOL_MAX_FRAME_BYTES", 16 << 20);
        System.setOut(new PrintStream(new TaskOutputStream("INFO", stderr, WorkerMain::sendStatic), true,
                java.nio.charset.StandardCharsets.UTF_8));
        System.setErr(new PrintStream(new TaskOutputStream("WARN", stderr, WorkerMain::sendStatic), true,
                java.nio.charset.StandardCharsets.UTF_8));
        if (args.length == 0) {
            fail("no handler classes given; usage: WorkerMain <TaskHandler class>...", null);
        }
        int maxFrameBytes = intFromEnv("PROCPOOL_MAX_FRAME_BYTES", 16 << 20);
        FrameCodec codec = new FrameCodec();
        HandlerInvoker invoker = null;
        try {
            Map<String, TaskHandler> handlers = HandlerInvoker.createHandlers(List.of(args));
            invoker = new HandlerInvoker(codec, handlers, maxFrameBytes);
        } catch (IllegalArgumentException e) {
            fail(e.getMessage(), e.getCause());
        }
        int concurrency = Math.max(1, intFromEnv("PROCPOOL_MAX_CONCURRENCY", 1));
        long heartbeatMs = Math.max(10, intFromEnv("PROCPOOL_HEARTBEAT_MS", 1000));
        new WorkerMain(frames, codec, invoker, maxFrameBytes, concurrency).run(concurrency, heartbeatMs);
    }

    private void run(int concurrency, long heartbeatMs) {
        if ("1".equals(System.getenv("PROCPOOL_WARM_UP"))) {
            warmUp(); // a hot spare: nothing waits for it yet, and its first task will be urgent
        }
        send(codec.encodeReady(ProcessHandle.current().pid(), invoker.taskTypes(), capabilities(),
                concurrency));
        ScheduledExecutorService heartbeat = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread thread = new Thread(r, "procpool-worker-heartbeat");
            thread.setDaemon(true);
            return thread;
        });
        heartbeat.scheduleAtFixedRate(this::heartbeat, heartbeatMs, heartbeatMs, TimeUnit.MILLISECONDS);

        // The raw stream: the reader buffers itself, and System.in's buffering asks the kernel how much is left
        // (fstat and ioctl) after every read.
        input = new BoundedLineReader(new FileInputStream(FileDescriptor.in), maxFrameBytes);
        // concurrency + 1 threads take turns: one reads stdin; when it reads a task it passes the reading on and
        // runs the task itself, so a task starts on the thread that read it, with no hand-off on the way. When that
        // task takes the last free slot, the reading is passed on only if the task runs long (ReaderHandOff).
        for (int i = 1; i <= concurrency; i++) {
            // Not "procpool-worker-" + i: the first string concatenation in a JVM bootstraps StringConcatFactory,
            // which spins method-handle classes that no class-data-sharing archive holds (15 ms of CPU time).
            Thread thread = new Thread(this::serve, "procpool-worker-".concat(Integer.toString(i)));
            thread.setDaemon(true);
            thread.start();
        }
        serve();
    }

    private void serve() {
        while (true) {
            WorkerTaskContext next;
            synchronized (waiting) {
                next = busy < concurrency ? waiting.pollFirst() : null;
                if (next != null) {
                    busy++;
                }
            }
            if (next != null) {
                runTask(next);
                continue;
            }
            if (!handOff.takeOver()) {
                reader.acquireUninterruptibly();
            }
            readAndRun();
        }
    }

    /** Holding the reading permit: reads tasks and runs them until the permit has gone to another thread. */
    private void readAndRun() {
        while (true) {
            WorkerTaskContext task = readUntilTask();
            boolean runNow;
            boolean slotsLeft;
            synchronized (waiting) {
                runNow = busy < concurrency && waiting.isEmpty();
                if (runNow) {
                    busy++;
                } else {
                    waiting.addLast(task); // prefetched: it waits for a free slot
                }
                slotsLeft = busy < concurrency;
            }
            if (!runNow) {
                reader.release(); // another thread (or this one, at the top of serve) reads on
                return;
            }
            if (slotsLeft) {
                reader.release(); // another thread reads on, and may start a task beside this one
                runTask(task);
                return;
            }
            // The last free slot: keep reading after the task unless it runs long (see ReaderHandOff).
            handOff.lend();
            long start = System.nanoTime();
            byte[] answer = execute(task);
            boolean stillReading = handOff.reclaim();
            // A short task with the next one already read: its answer may wait to go out with the next ones.
            sendAnswer(answer, stillReading && System.nanoTime() - start < SHORT_TASK_NANOS && input.hasLine());
            if (!stillReading) {
                return;
            }
        }
    }

    /** Reads frames, handling all but tasks, until a task arrives; exits the process when stdin ends. */
    private WorkerTaskContext readUntilTask() {
        try {
            int length;
            while (true) {
                if (!input.hasLine()) {
                    flushAnswers(); // about to wait for input: nothing may stay behind
                }
                if ((length = input.nextLine()) < 0) {
                    break;
                }
                Frame frame = codec.decode(input.buffer(), length);
                if (frame instanceof Frame.Task task) {
                    WorkerTaskContext context = invoker.context(task, this::send, controls);
                    running.put(task.id(), context);
                    return context;
                } else if (frame instanceof Frame.Cancel cancel) {
                    WorkerTaskContext context = running.get(cancel.id());
                    if (context != null) {
                        context.cancel();
                    }
                } else if (frame instanceof Frame.Shutdown) {
                    flushAnswers();
                    exit(0);
                } else if (frame instanceof Frame.NotAFrame notAFrame) {
                    System.err.println("procpool worker: ignored an input line that is not a frame: "
                            + notAFrame.why());
                }
            }
        } catch (IOException e) {
            System.err.println("procpool worker: reading stdin failed: " + e.getMessage());
        }
        flushAnswers();
        exit(0); // stdin ended: the host is gone or wants us gone
        throw new AssertionError("unreachable");
    }

    private void runTask(WorkerTaskContext context) {
        send(execute(context));
    }

    /**
     * Runs a task and returns its answer frame; the slot is free again when it returns. Every task runs in this
     * method: the host finds the stacks of task threads in a thread dump by its name.
     */
    private byte[] execute(WorkerTaskContext context) {
        String id = context.taskId();
        byte[] answer;
        TaskOutputStream.begin(id);
        try {
            answer = invoker.invoke(context);
        } catch (OutOfMemoryError e) {
            // Reached only without -XX:+ExitOnOutOfMemoryError: report it, then exit, as the heap may be broken.
            send(codec.encodeError(id, "OUT_OF_MEMORY", e.getClass().getName(), e.getMessage(), "", true));
            System.err.println("procpool worker: out of memory in task " + id + "; exiting");
            exit(EXIT_OUT_OF_MEMORY);
            throw new AssertionError("unreachable");
        } finally {
            System.out.flush();
            System.err.flush();
            TaskOutputStream.end(); // a last line without a newline goes out before the answer
            running.remove(id);
            synchronized (waiting) {
                busy--;
            }
        }
        return answer;
    }

    /**
     * Takes the frame and JSON paths of a task once, with a made-up task that no handler sees, before the worker
     * reports ready, so that its first real task finds them loaded and set up. Only for hot spares: a hot spare's
     * first tiny task took about 130 ms without it, but on a worker something waits for, the warm-up cost more start
     * time than it saved on the first task.
     */
    private void warmUp() {
        try {
            byte[] payload = Payloads.BUILT_IN.encode(Map.of("text", "warm-up", "numbers", List.of(1, 2.5),
                    "flag", true));
            byte[] taskFrame = codec.encodeTask("warm-up", "warm-up", 1, 1000, payload);
            if (codec.decode(taskFrame, taskFrame.length - 1) instanceof Frame.Task task) {
                WorkerTaskContext context = new WorkerTaskContext(task, codec, frame -> { });
                byte[] result = Payloads.BUILT_IN.encode(context.payload(Object.class));
                codec.decode(codec.encodeResult(task.id(), result));
                context.payload(Map.class);
            }
        } catch (IOException | RuntimeException e) {
            System.err.println("procpool worker: warm-up failed, going on: " + e);
        }
    }

    private static void sendStatic(byte[] frame) {
        if (frame.length - 1 > frameLimit) {
            refused(frame);
            return;
        }
        try {
            writeRaw(frame);
        } catch (IOException e) {
            exit(0); // stdout is gone: the host is gone
        }
    }

    private void heartbeat() {
        if (heartbeatsPaused) {
            return;
        }
        Runtime runtime = Runtime.getRuntime();
        send(codec.encodeHeartbeat(residentBytes(), runtime.totalMemory() - runtime.freeMemory(),
                runtime.maxMemory()));
    }

    /** Resident set size from /proc (0 where there is none). */
    static long residentBytes() {
        try {
            String[] statm = Files.readString(Path.of("/proc/self/statm")).trim().split(" ");
            return Long.parseLong(statm[1]) * 4096L;
        } catch (IOException | RuntimeException e) {
            return 0;
        }
    }

    private void send(byte[] frame) {
        sendAnswer(frame, false);
    }

    /**
     * A frame over the frame limit is never sent: the host would kill this worker for it. Answers are kept within
     * the limit by {@link HandlerInvoker}; this drops what else could outgrow it (a log line of a task full of
     * control characters, under a small limit), saying so on stderr.
     */
    private static void refused(byte[] frame) {
        realStderr.println("procpool worker: dropped a frame of " + (frame.length - 1)
                + " bytes, over the frame limit of " + frameLimit + " bytes (PROCPOOL_MAX_FRAME_BYTES)");
    }

    /**
     * Writes a frame; flushes it at once unless {@code mayWait}, in which case it waits for the next frames, so
     * that a burst of short tasks is answered in few writes. The answers waiting go out together once there are
     * {@link #MAX_WAITING_ANSWERS} or the first has waited {@link #MAX_ANSWER_WAIT_NANOS} (checked at the next
     * answer), before this worker waits for input, with any frame that does not wait, and when the reading is handed
     * over: behind a task that turns out long, an answer waits at most {@link ReaderHandOff#DELAY_NANOS}.
     */
    private void sendAnswer(byte[] frame, boolean mayWait) {
        if (frame.length - 1 > maxFrameBytes) { // without its '\n'
            refused(frame);
            return;
        }
        synchronized (frames) {
            try {
                frames.write(frame);
                long now = mayWait ? System.nanoTime() : 0;
                if (mayWait && waitingAnswers < MAX_WAITING_ANSWERS
                        && (waitingAnswers == 0 || now - waitingSince < MAX_ANSWER_WAIT_NANOS)) {
                    if (waitingAnswers++ == 0) {
                        waitingSince = now;
                    }
                } else {
                    frames.flush();
                    waitingAnswers = 0;
                }
            } catch (IOException e) {
                // stdout is gone: the host is gone
                exit(0);
            }
        }
    }

    /** Sends the answers that wait for company, if any. */
    private void flushAnswers() {
        synchronized (frames) {
            if (waitingAnswers > 0) {
                try {
                    frames.flush();
                } catch (IOException e) {
                    exit(0);
                }
                waitingAnswers = 0;
            }
        }
    }

    /** Writes raw bytes where frames go, under the frame lock: frames of output, and fault injection. */
    private static void writeRaw(byte[] bytes) throws IOException {
        OutputStream out = rawFrames;
        synchronized (out) {
            out.write(bytes);
            out.flush();
        }
    }

    private static List<String> capabilities() {
        String value = System.getenv("PROCPOOL_CAPABILITIES");
        List<String> capabilities = new ArrayList<>();
        if (value != null) {
            for (String capability : value.split(",")) {
                if (!capability.isBlank()) {
                    capabilities.add(capability.trim());
                }
            }
        }
        return capabilities;
    }

    private static int intFromEnv(String name, int fallback) {
        String value = System.getenv(name);
        if (value == null) {
            return fallback;
        }
        try {
            return Integer.parseInt(value.trim());
        } catch (NumberFormatException e) {
            fail(name + " must be a whole number, was \"" + value + "\"", null);
            return fallback;
        }
    }

    private static void fail(String problem, Throwable cause) {
        System.err.println("procpool worker: " + problem);
        if (cause != null) {
            cause.printStackTrace(System.err);
        }
        System.err.flush();
        exit(EXIT_STARTUP_FAILURE);
    }

    /** Ends child processes first (they would outlive us otherwise), then halts without running user hooks. */
    private static void exit(int status) {
        try {
            ProcessHandle.current().descendants().forEach(ProcessHandle::destroyForcibly);
        } catch (RuntimeException ignored) {
            // best effort
        }
        System.err.flush();
        Runtime.getRuntime().halt(status);
    }
}
