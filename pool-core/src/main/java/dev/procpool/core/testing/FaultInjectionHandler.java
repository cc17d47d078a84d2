package dev.procpool.core.testing;

import dev.procpool.TaskContext;
import dev.procpool.TaskHandler;
import dev.procpool.core.internal.worker.WorkerControls;
import dev.procpool.core.internal.worker.WorkerTaskContext;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A handler that misbehaves on request, so that users can test their pool settings against real faults (and so
 * can we). Run it as a Java worker: {@code WorkerSpec.java(FaultInjectionHandler.class)}; the equivalent command is
 * {@code java -cp <classpath> dev.procpool.core.internal.worker.WorkerMain dev.procpool.core.testing.FaultInjectionHandler}.
 *
 * <p>It serves the task type {@value #TASK_TYPE}. The payload is an object whose {@code "fault"} member picks the
 * behaviour:
 * <ul>
 *   <li>{@code "none"}: returns {@code {"pid": …, "attempt": …}}.</li>
 *   <li>{@code "crash"}: the worker exits at once with {@code "code"} (default 1).</li>
 *   <li>{@code "kill"}: the worker sends itself SIGKILL, as the kernel's OOM killer would.</li>
 *   <li>{@code "busy-loop"}: spins the CPU forever, ignoring cancellation; heartbeats go on.</li>
 *   <li>{@code "silent-hang"}: stops heartbeating and sleeps forever: a zombie.</li>
 *   <li>{@code "sleep"}: sleeps {@code "ms"} milliseconds, ending early when cancelled.</li>
 *   <li>{@code "leak"}: allocates {@code "mb"} MiB and keeps it for the worker's life (RSS grows), then
 *       sleeps {@code "holdMs"} if given.</li>
 *   <li>{@code "oom"}: allocates until the heap is exhausted.</li>
 *   <li>{@code "garbage"}: writes {@code "lines"} (default 3) lines that are not frames to the protocol channel,
 *       then returns normally.</li>
 *   <li>{@code "ignore-sigterm"}: makes the worker survive SIGTERM from then on (only SIGKILL ends it), then
 *       sleeps like {@code "sleep"}.</li>
 *   <li>{@code "fail"}: throws an exception with {@code "message"}.</li>
 * </ul>
 * A slow start is set with the environment variable {@value #START_DELAY_ENV} (milliseconds), read when the
 * worker creates the handler, before it reports ready.
 */
public final class FaultInjectionHandler implements TaskHandler {
    /** The task type this handler serves. */
    public static final String TASK_TYPE = "fault";
    /** Environment variable: milliseconds to wait before the worker reports ready. */
    public static final String START_DELAY_ENV = "PROCPOOL_FAULT_START_DELAY_MS";

    /** Memory kept by "leak" tasks, so that it stays resident. */
    private final List<byte[]> leaked = new ArrayList<>();

    /**
     * Creates the handler, after the start delay of {@value #START_DELAY_ENV} if it is set.
     *
     * @throws InterruptedException if interrupted during the start delay
     */
    public FaultInjectionHandler() throws InterruptedException {
        String delay = System.getenv(START_DELAY_ENV);
        if (delay != null && !delay.isBlank()) {
            Thread.sleep(Long.parseLong(delay.trim()));
        }
    }

    @Override
    public Set<String> taskTypes() {
        return Set.of(TASK_TYPE);
    }

    @Override
    public Object handle(TaskContext context) throws Exception {
        Map<?, ?> payload = context.payload(Map.class);
        String fault = String.valueOf(payload == null ? "none" : payload.get("fault"));
        long pid = ProcessHandle.current().pid();
        switch (fault) {
            case "none" -> {
                return Map.of("pid", pid, "attempt", context.attempt());
            }
            case "crash" -> {
                Runtime.getRuntime().halt(number(payload, "code", 1));
                return null;
            }
            case "kill" -> {
                new ProcessBuilder("kill", "-KILL", Long.toString(pid)).start().waitFor();
                Thread.sleep(Long.MAX_VALUE);
                return null;
            }
            case "busy-loop" -> {
                long spins = 0;
                while (spins >= 0) {
                    spins++;
                }
                return spins;
            }
            case "silent-hang" -> {
                controls(context).pauseHeartbeats();
                Thread.sleep(Long.MAX_VALUE);
                return null;
            }
            case "sleep" -> {
                return sleep(context, number(payload, "ms", 1000), pid);
            }
            case "leak" -> {
                int mb = number(payload, "mb", 64);
                for (int i = 0; i < mb; i++) {
                    byte[] block = new byte[1 << 20];
                    for (int j = 0; j < block.length; j += 4096) {
                        block[j] = 1; // touch every page so it is resident
                    }
                    leaked.add(block);
                }
                if (payload.get("holdMs") != null) {
                    sleep(context, number(payload, "holdMs", 0), pid);
                }
                return Map.of("pid", pid, "leakedMb", leaked.size());
            }
            case "oom" -> {
                List<long[]> hog = new ArrayList<>();
                while (true) {
                    hog.add(new long[1 << 20]);
                }
            }
            case "garbage" -> {
                int lines = number(payload, "lines", 3);
                for (int i = 0; i < lines; i++) {
                    controls(context).writeRawLine(("garbage line " + i + " {not a frame\n").getBytes(StandardCharsets.UTF_8));
                }
                return Map.of("pid", pid, "garbageLines", lines);
            }
            case "ignore-sigterm" -> {
                // SIGTERM runs shutdown hooks; one that never returns keeps the JVM alive until SIGKILL.
                Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                    try {
                        Thread.sleep(Long.MAX_VALUE);
                    } catch (InterruptedException ignored) {
                        // keep holding
                    }
                }));
                return sleep(context, number(payload, "ms", 60_000), pid);
            }
            case "fail" -> throw new IllegalStateException(String.valueOf(payload.get("message")));
            default -> throw new IllegalArgumentException("unknown fault \"" + fault + "\"; known: none, crash, kill, "
                    + "busy-loop, silent-hang, sleep, leak, oom, garbage, ignore-sigterm, fail");
        }
    }

    private static Map<String, Object> sleep(TaskContext context, long ms, long pid) throws InterruptedException {
        long until = System.nanoTime() + ms * 1_000_000L;
        while (System.nanoTime() < until && !context.isCancelled()) {
            Thread.sleep(Math.min(10, Math.max(1, (until - System.nanoTime()) / 1_000_000L)));
        }
        return Map.of("pid", pid, "cancelled", context.isCancelled());
    }

    private static int number(Map<?, ?> payload, String key, int fallback) {
        Object value = payload.get(key);
        return value instanceof Number n ? n.intValue() : fallback;
    }

    /** What the worker runtime lets this handler do to its worker; nothing in an in-process worker. */
    private static WorkerControls controls(TaskContext context) {
        return context instanceof WorkerTaskContext worker ? worker.controls() : WorkerControls.NONE;
    }
}
