package dev.procpool.core.testing;

import dev.procpool.TaskContext;
import dev.procpool.TaskHandler;

import java.io.File;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * Task types with which the process-tree tests give a worker children and then end it, in a real worker JVM.
 *
 * <p>{@value #TREE}: starts a grandchild ({@code sh -c 'sleep 600 &'}: the shell exits at once, so the sleep is
 * an orphan from the start but stays in the worker's process group), a double-forked child that leaves the group
 * and the session ({@code sh -c 'setsid sleep 600 &'}), a grandchild that drops the environment but stays in the
 * group ({@code sh -c 'env -i sleep 600 &'}), and a child of its own that leaves both
 * ({@code env -i setsid sleep 600}), then lives 1.2 s; with {@code "holdStdout": true} also a child that
 * keeps the worker's stdout open, and with {@code "hideHolder": true} that child also drops its environment
 * ({@code env -i setsid …}), so that neither the group nor the marker finds it. The pids are written to
 * {@code "pidFile"} (as {@code name=pid} lines); once a file of that name plus {@code .go} exists, the worker does
 * what {@code "then"} says: {@code return}
 * them, {@code exit} ({@code System.exit(3)}), {@code halt} ({@code Runtime.halt(4)}), {@code abort} (SIGABRT to
 * itself, a crash), {@code hang} (sleep forever, deaf to cancellation), {@code wait} (sleep until cancelled), or
 * {@code result-then-halt} (report progress {@code "pid <its pid>"}, sleep 300 ms, write its own result frame to
 * stdout and halt at once).
 *
 * <p>{@value #FLOOD}: writes {@code "mbPerSecond"} MB a second of lines with control characters straight to the
 * worker's stderr for {@code "seconds"}, then one line with control characters to stdout, and returns how many
 * bytes it wrote to stderr.
 */
public final class TreeHandler implements TaskHandler {
    public static final String TREE = "tree";
    public static final String FLOOD = "flood";
    /** What each flood line carries: an escape sequence, a carriage return that could forge a line, and a NUL. */
    public static final String FLOOD_LINE = "\u001b[31mred\u001b[0m flooding\r12:00:00.000 [main] ERROR forged\u0000";
    /** A line the flood task writes to stdout, where frames go: logged by the host as not a frame. */
    public static final String NOT_A_FRAME = "not a frame\u001b[2J\r12:00:00.000 [main] ERROR forged too";

    @Override
    public Set<String> taskTypes() {
        return Set.of(TREE, FLOOD);
    }

    @Override
    public Object handle(TaskContext context) throws Exception {
        Map<?, ?> payload = context.payload(Map.class);
        return FLOOD.equals(context.taskType()) ? flood(payload) : tree(context, payload);
    }

    private static Object tree(TaskContext context, Map<?, ?> payload) throws Exception {
        long self = ProcessHandle.current().pid();
        Map<String, Long> pids = new LinkedHashMap<>();
        pids.put("worker", self);
        pids.put("grandchild", spawn("sleep 600", false));
        pids.put("daemon", spawn("setsid sleep 600", false));
        pids.put("clean", spawn("env -i sleep 600", false));
        // a child of the worker itself, in a session of its own and without the marker: only what was recorded of
        // the worker's descendants while it lived finds it once the worker is gone
        pids.put("hidden", new ProcessBuilder("env", "-i", "setsid", "sleep", "600").redirectInput(new File("/dev/null"))
                .redirectOutput(ProcessBuilder.Redirect.DISCARD).redirectError(ProcessBuilder.Redirect.DISCARD)
                .start().pid());
        Thread.sleep(1200); // the worker lives a while: long enough for its descendants to be recorded
        if (Boolean.TRUE.equals(payload.get("holdStdout"))) {
            pids.put("holder", spawn(Boolean.TRUE.equals(payload.get("hideHolder"))
                    ? "env -i setsid sleep 600" : "sleep 600", true));
        }
        StringBuilder lines = new StringBuilder();
        pids.forEach((name, pid) -> lines.append(name).append('=').append(pid).append('\n'));
        Path pidFile = Path.of(payload.get("pidFile").toString());
        Files.writeString(pidFile.resolveSibling(pidFile.getFileName() + ".tmp"), lines);
        Files.move(pidFile.resolveSibling(pidFile.getFileName() + ".tmp"), pidFile); // whole, or not at all
        Path go = pidFile.resolveSibling(pidFile.getFileName() + ".go");
        long until = System.nanoTime() + 60_000_000_000L;
        while (!Files.exists(go) && System.nanoTime() < until) {
            Thread.sleep(5); // until the test has recorded the pids: the worker may die at once after this
        }

        switch (String.valueOf(payload.get("then"))) {
            case "return" -> {
                return pids;
            }
            case "exit" -> System.exit(3);
            case "halt" -> Runtime.getRuntime().halt(4);
            case "abort" -> {
                run("prlimit", "--core=0", "--pid", Long.toString(self)); // no core file, where prlimit exists
                run("kill", "-ABRT", Long.toString(self));
            }
            case "hang" -> {
                while (true) {
                    Thread.sleep(50); // deaf to cancellation: only a signal ends this worker
                }
            }
            case "wait" -> {
                while (!context.isCancelled()) {
                    Thread.sleep(10);
                }
                return pids;
            }
            case "result-then-halt" -> {
                context.progress(0.5, "pid " + self);
                Thread.sleep(300); // the host's reader is now busy with the progress report
                String frame = "{\"v\":1,\"type\":\"result\",\"id\":\"" + context.taskId() + "\",\"result\":{\"worker\":"
                        + self + ",\"holder\":" + pids.get("holder") + "}}\n";
                OutputStream stdout = new FileOutputStream(FileDescriptor.out);
                stdout.write(frame.getBytes(StandardCharsets.UTF_8));
                stdout.flush();
                Runtime.getRuntime().halt(0);
            }
            default -> throw new IllegalArgumentException("unknown \"then\": " + payload.get("then"));
        }
        Thread.sleep(60_000); // exit, halt and abort do not return
        return pids;
    }

    private static Object flood(Map<?, ?> payload) throws Exception {
        double bytesPerNano = ((Number) payload.get("mbPerSecond")).doubleValue() * 1e6 / 1e9;
        long seconds = ((Number) payload.get("seconds")).longValue();
        byte[] line = (FLOOD_LINE + "\n").getBytes(StandardCharsets.UTF_8);
        byte[] chunk = new byte[line.length * 64];
        for (int i = 0; i < 64; i++) {
            System.arraycopy(line, 0, chunk, i * line.length, line.length);
        }
        // one line that is not a frame, first, while the worker's log budget is still whole (it counts against it)
        OutputStream stdout = new FileOutputStream(FileDescriptor.out);
        stdout.write((NOT_A_FRAME + "\n").getBytes(StandardCharsets.UTF_8));
        stdout.flush();
        OutputStream stderr = new FileOutputStream(FileDescriptor.err);
        long start = System.nanoTime();
        long end = start + seconds * 1_000_000_000L;
        long written = 0;
        long now;
        while ((now = System.nanoTime()) < end) {
            if (written < (now - start) * bytesPerNano) {
                stderr.write(chunk);
                written += chunk.length;
            } else {
                Thread.sleep(1); // ahead of the rate
            }
        }
        return Map.of("bytes", written, "lines", written / line.length,
                "seconds", (System.nanoTime() - start) / 1e9);
    }

    /**
     * Starts {@code command} in the background from a shell that exits at once, and returns the background
     * process's pid (the shell's {@code $!}), which the shell writes to its stderr.
     */
    private static long spawn(String command, boolean holdStdout) throws IOException, InterruptedException {
        String script = command + " </dev/null 2>/dev/null" + (holdStdout ? "" : " >/dev/null") + " & echo $! >&2";
        Process shell = new ProcessBuilder("sh", "-c", script)
                .redirectInput(new File("/dev/null"))
                .redirectOutput(holdStdout ? ProcessBuilder.Redirect.INHERIT : ProcessBuilder.Redirect.DISCARD)
                .start();
        String pid = new String(shell.getErrorStream().readAllBytes(), StandardCharsets.UTF_8).trim();
        shell.waitFor();
        return Long.parseLong(pid);
    }

    private static void run(String... command) throws InterruptedException {
        try {
            new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD)
                    .start().waitFor();
        } catch (IOException e) {
            // not installed: go on without it
        }
    }
}
