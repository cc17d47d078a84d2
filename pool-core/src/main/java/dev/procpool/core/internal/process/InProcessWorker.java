package dev.procpool.core.internal.process;

import dev.procpool.WorkerSpec;
import dev.procpool.core.internal.protocol.Frame;
import dev.procpool.core.internal.protocol.FrameCodec;
import dev.procpool.core.internal.worker.HandlerInvoker;
import dev.procpool.core.internal.worker.WorkerControls;
import dev.procpool.core.internal.worker.WorkerTaskContext;

import java.io.IOException;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.LockSupport;

/**
 * A worker whose handlers run on threads of the host: no isolation and no process, for fast unit tests of
 * handlers. It speaks the same frames as a real worker (payloads and results go through JSON, answers are made by
 * the same {@link HandlerInvoker} as in worker JVMs), so the dispatcher treats it like any other. Stopping or
 * "killing" it abandons its running tasks.
 */
public final class InProcessWorker implements WorkerConnection {
    private final String workerId;
    private final FrameCodec codec;
    private final HandlerInvoker invoker;
    private final WorkerProcess.Listener listener;
    private final ExecutorService taskThreads;
    private final Map<String, WorkerTaskContext> running = new ConcurrentHashMap<>();
    private final AtomicBoolean exited = new AtomicBoolean();
    private final OutputTail output = new OutputTail(50);
    private long offered;

    private InProcessWorker(String workerId, FrameCodec codec, HandlerInvoker invoker,
                            WorkerProcess.Listener listener, ThreadFactory threads, int concurrency) {
        this.workerId = workerId;
        this.codec = codec;
        this.invoker = invoker;
        this.listener = listener;
        this.taskThreads = Executors.newFixedThreadPool(concurrency, runnable -> {
            Thread thread = threads.newThread(runnable);
            thread.setName(thread.getName() + workerId + "-task");
            return thread;
        });
    }

    /**
     * Creates the handlers and announces the worker; heartbeats come from a daemon thread.
     *
     * @throws IOException if a handler cannot be created (reported as a startup failure)
     */
    public static InProcessWorker launch(String workerId, WorkerSpec.InProcess spec, int concurrency,
                                         int maxFrameBytes, FrameCodec codec, Duration heartbeatInterval,
                                         ThreadFactory threads, WorkerProcess.Listener listener) throws IOException {
        HandlerInvoker invoker;
        try {
            invoker = new HandlerInvoker(codec, HandlerInvoker.createHandlers(spec.handlerClassNames()),
                    maxFrameBytes);
        } catch (IllegalArgumentException e) {
            throw new IOException(e.getMessage(), e);
        }
        InProcessWorker worker = new InProcessWorker(workerId, codec, invoker, listener, threads, concurrency);
        listener.onLaunched(worker);
        Thread heartbeat = threads.newThread(() -> worker.heartbeat(heartbeatInterval.toNanos()));
        heartbeat.setName(heartbeat.getName() + workerId + "-heartbeat");
        heartbeat.start();
        worker.deliver(codec.encodeReady(ProcessHandle.current().pid(), invoker.taskTypes(), List.of(),
                concurrency));
        return worker;
    }

    private void heartbeat(long intervalNanos) {
        while (!exited.get()) {
            LockSupport.parkNanos(this, intervalNanos);
            deliver(codec.encodeHeartbeat(0, 0, 0));
        }
    }

    /** Hands a frame "written" by the worker to the host, as its stdout reader would. */
    private void deliver(byte[] frame) {
        if (!exited.get()) {
            listener.onFrame(codec.decode(frame, frame.length - 1)); // without its '\n'
        }
    }

    @Override
    public long pid() {
        return ProcessHandle.current().pid();
    }

    @Override
    public synchronized long send(byte[] frames) {
        offered += frames.length;
        int start = 0;
        for (int i = 0; i < frames.length && !exited.get(); i++) {
            if (frames[i] == '\n') {
                receive(Arrays.copyOfRange(frames, start, i));
                start = i + 1;
            }
        }
        return offered;
    }

    private void receive(byte[] line) {
        Frame decoded = codec.decode(line);
        if (decoded instanceof Frame.Task task) {
            WorkerTaskContext context = invoker.context(task, this::deliver, WorkerControls.NONE);
            running.put(task.id(), context);
            taskThreads.execute(() -> run(context));
        } else if (decoded instanceof Frame.Cancel cancel) {
            WorkerTaskContext context = running.get(cancel.id());
            if (context != null) {
                context.cancel();
            }
        } else if (decoded instanceof Frame.Shutdown) {
            exit(0);
        }
    }

    private void run(WorkerTaskContext context) {
        byte[] answer;
        try {
            answer = invoker.invoke(context);
        } catch (OutOfMemoryError e) {
            answer = codec.encodeError(context.taskId(), "OUT_OF_MEMORY", e.getClass().getName(), e.getMessage(), "",
                    true);
        } finally {
            running.remove(context.taskId());
        }
        deliver(answer);
    }

    @Override
    public void consumedUpTo(long offset) {
        // nothing is buffered
    }

    @Override
    public void closeStdin() {
        exit(0);
    }

    @Override
    public void rememberDescendants() {
        // no processes
    }

    @Override
    public void terminate() {
        exit(128 + ExitStatus.SIGTERM);
    }

    @Override
    public void kill() {
        exit(128 + ExitStatus.SIGKILL);
    }

    @Override
    public boolean signal(String name) {
        return false;
    }

    @Override
    public OutputTail output() {
        return output;
    }

    private void exit(int code) {
        if (exited.compareAndSet(false, true)) {
            running.values().forEach(WorkerTaskContext::cancel);
            taskThreads.shutdown();
            listener.onExit(new ExitStatus(code));
        }
    }

    @Override
    public String toString() {
        return "in-process worker " + workerId;
    }
}
