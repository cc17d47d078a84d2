package dev.procpool.core.testing;

import dev.procpool.NonRetryableException;
import dev.procpool.TaskContext;
import dev.procpool.TaskHandler;
import dev.procpool.core.internal.process.ProcStat;

import java.io.File;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * The worker side of the chaos run ({@code ChaosIT}), in a real worker JVM. It serves {@value #TYPE}; the payload is
 * {@code {"op": …, "n": <number>, "ms": <milliseconds>, "dir": <the run's folder>}}:
 * <ul>
 *   <li>{@code work}: sleeps {@code ms} (ending early when cancelled) and returns {@link #answer the answer}.</li>
 *   <li>{@code tree}: first starts four processes that outlive the task, as {@link TreeHandler} does: a child of the
 *       worker ({@code sleep 600}), an orphaned grandchild in the worker's group ({@code sh -c 'sleep 600 &'}), a
 *       double-forked child in a session of its own ({@code sh -c 'setsid sleep 600 &'}), and an orphan without the
 *       pool's environment marker ({@code sh -c 'env -i sleep 600 &'}); writes them to
 *       {@code <dir>/trees/<task id>-<attempt>} as {@code name pid startTicks} lines; then works like {@code work}.
 *       The pool must end them all when the worker ends, whichever way it ends.</li>
 *   <li>{@code fail}: throws {@link IllegalStateException} with {@link #plannedFailure}.</li>
 *   <li>{@code crash}: the worker exits at once with code 42 (a poison task).</li>
 * </ul>
 * Every attempt except {@code crash} first takes a POSIX lock on {@code <dir>/locks/<task id>} and keeps it until it
 * ends. The kernel drops the lock only when the attempt ends or its process is gone, so an attempt that finds the
 * lock taken proves two attempts of one task alive at once (guarantee 2): it then fails with a
 * {@link NonRetryableException} whose message contains {@link #OVERLAP}.
 */
public final class ChaosHandler implements TaskHandler {
    /** The task type served. */
    public static final String TYPE = "chaos";
    /** In the message of an attempt that found an earlier attempt of its task still alive. */
    public static final String OVERLAP = "two attempts at once";

    @Override
    public Set<String> taskTypes() {
        return Set.of(TYPE);
    }

    /** What a {@code work} or {@code tree} task with number {@code n} answers, under {@code "value"}. */
    public static long answer(long n) {
        return n * 31 + 7;
    }

    /** The message of a {@code fail} task's exception. */
    public static String plannedFailure(String taskId) {
        return "planned failure of " + taskId;
    }

    @Override
    public Object handle(TaskContext context) throws Exception {
        Map<?, ?> payload = context.payload(Map.class);
        String op = String.valueOf(payload.get("op"));
        if (op.equals("crash")) {
            Runtime.getRuntime().halt(42);
        }
        Path dir = Path.of(String.valueOf(payload.get("dir")));
        try (FileChannel lock = FileChannel.open(dir.resolve("locks").resolve(context.taskId()),
                StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
            FileLock held;
            try {
                held = lock.tryLock();
            } catch (OverlappingFileLockException e) {
                held = null; // this very JVM holds it: an earlier attempt runs here still
            }
            if (held == null) {
                throw new NonRetryableException("attempt " + context.attempt() + " of task " + context.taskId()
                        + " found an earlier attempt alive: " + OVERLAP);
            }
            long n = ((Number) payload.get("n")).longValue();
            long ms = ((Number) payload.get("ms")).longValue();
            switch (op) {
                case "work" -> {
                    return work(context, n, ms);
                }
                case "tree" -> {
                    startTree(dir.resolve("trees").resolve(context.taskId() + "-" + context.attempt()));
                    return work(context, n, ms);
                }
                case "fail" -> throw new IllegalStateException(plannedFailure(context.taskId()));
                default -> throw new IllegalArgumentException("unknown op \"" + op + "\"; known: work, tree, fail, "
                        + "crash");
            }
        }
    }

    private static Map<String, Object> work(TaskContext context, long n, long ms) throws InterruptedException {
        long until = System.nanoTime() + ms * 1_000_000L;
        while (System.nanoTime() < until && !context.isCancelled()) {
            Thread.sleep(Math.max(1, Math.min(10, (until - System.nanoTime()) / 1_000_000L)));
        }
        Map<String, Object> answer = new LinkedHashMap<>();
        answer.put("id", context.taskId());
        answer.put("value", answer(n));
        answer.put("pid", ProcessHandle.current().pid());
        answer.put("attempt", context.attempt());
        return answer;
    }

    /** Starts the four processes and writes them, with their start times, to {@code record} (whole, or not at all). */
    private static void startTree(Path record) throws IOException, InterruptedException {
        Map<String, Long> pids = new LinkedHashMap<>();
        pids.put("child", new ProcessBuilder("sleep", "600").redirectInput(new File("/dev/null"))
                .redirectOutput(ProcessBuilder.Redirect.DISCARD).redirectError(ProcessBuilder.Redirect.DISCARD)
                .start().pid());
        pids.put("grandchild", spawn("sleep 600"));
        pids.put("daemon", spawn("setsid sleep 600"));
        pids.put("clean", spawn("env -i sleep 600"));
        StringBuilder lines = new StringBuilder();
        pids.forEach((name, pid) -> ProcStat.read(pid).ifPresent(stat ->
                lines.append(name).append(' ').append(pid).append(' ').append(stat.startTicks()).append('\n')));
        Path partial = record.resolveSibling(record.getFileName() + ".tmp");
        Files.writeString(partial, lines, StandardCharsets.UTF_8);
        Files.move(partial, record, StandardCopyOption.ATOMIC_MOVE);
    }

    /** Starts {@code command} in the background from a shell that exits at once; returns the background pid. */
    private static long spawn(String command) throws IOException, InterruptedException {
        Process shell = new ProcessBuilder("sh", "-c", command + " </dev/null >/dev/null 2>&1 & echo $!")
                .redirectInput(new File("/dev/null")).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        String pid = new String(shell.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
        shell.waitFor();
        return Long.parseLong(pid);
    }
}
