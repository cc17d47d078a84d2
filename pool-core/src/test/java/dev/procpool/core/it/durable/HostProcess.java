package dev.procpool.core.it.durable;

import dev.procpool.core.internal.store.ProcessTrees;
import dev.procpool.core.testing.DurableHostMain;
import dev.procpool.core.testing.Signals;
import dev.procpool.core.testing.TestPools;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.Callable;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import static org.awaitility.Awaitility.await;

/**
 * A host JVM running {@link DurableHostMain}, seen from the test: lines it prints are awaited with a bound, commands
 * are sent as lines, and every process of its tree (workers and their children) is remembered by pid and start time
 * whenever the test looks, so that {@link #assertTreeGone()} proves nothing of it is left after a kill.
 */
final class HostProcess implements AutoCloseable {
    private final String name;
    private final Process process;
    private final Path log;
    private final Writer in;
    private final BlockingQueue<String> lines = new LinkedBlockingQueue<>();
    /** Lines a call of {@link #expect} read past, kept for the next calls (used by the test's thread only). */
    private final List<String> skipped = new ArrayList<>();
    private final List<ProcessTrees.Proc> seen = new ArrayList<>();

    private HostProcess(String name, Process process, Path log) {
        this.name = name;
        this.process = process;
        this.log = log;
        this.in = new OutputStreamWriter(process.getOutputStream(), StandardCharsets.UTF_8);
        Thread reader = new Thread(() -> {
            try (BufferedReader out = new BufferedReader(new InputStreamReader(process.getInputStream(),
                    StandardCharsets.UTF_8))) {
                String line;
                while ((line = out.readLine()) != null) {
                    lines.add(line);
                }
            } catch (IOException e) {
                // the host is gone: expect() says so
            }
        }, "host-" + name + "-out");
        reader.setDaemon(true);
        reader.start();
    }

    /**
     * Starts a host with these {@code key=value} arguments; its log (stderr) goes to {@code <dir>/<name>.log}.
     * Returns once it printed READY.
     */
    static HostProcess start(String name, Path dir, String... args) throws Exception {
        Path log = dir.resolve(name + ".log");
        Process process = new ProcessBuilder(TestPools.hostCommand(DurableHostMain.class, List.of("-Xmx192m"), args))
                .redirectError(log.toFile()).start();
        HostProcess host = new HostProcess(name, process, log);
        host.remember();
        return host;
    }

    long pid() {
        return process.pid();
    }

    String name() {
        return name;
    }

    /**
     * The next line that starts with {@code word}, split into its words after it as {@code key=value} pairs (a word
     * without '=' is keyed by its position); fails if none comes within {@code within}. Other lines are kept for
     * later calls: a {@code RESULTS} line printed while the test polls {@code SNAPSHOT}s is not lost.
     */
    Map<String, String> expect(String word, Duration within) throws InterruptedException {
        for (Iterator<String> kept = skipped.iterator(); kept.hasNext(); ) {
            String line = kept.next();
            if (starts(line, word)) {
                kept.remove();
                return words(line, word);
            }
        }
        long deadline = System.nanoTime() + within.toNanos();
        while (true) {
            long left = deadline - System.nanoTime();
            String line = left <= 0 ? null : lines.poll(left, TimeUnit.NANOSECONDS);
            if (line == null) {
                throw new AssertionError("host " + name + " did not print " + word + " within " + within
                        + (process.isAlive() ? "" : " (it exited with " + process.exitValue() + ")")
                        + "; its log ends with:\n" + logTail(40));
            }
            if (starts(line, word)) {
                return words(line, word);
            }
            skipped.add(line);
        }
    }

    private static boolean starts(String line, String word) {
        return line.equals(word) || line.startsWith(word + " ");
    }

    private static Map<String, String> words(String line, String word) {
        Map<String, String> words = new HashMap<>();
        List<String> rest = Arrays.asList(line.substring(word.length()).trim().split(" "));
        for (int i = 0; i < rest.size(); i++) {
            String w = rest.get(i);
            int at = w.indexOf('=');
            words.put(at < 0 ? Integer.toString(i) : w.substring(0, at), at < 0 ? w : w.substring(at + 1));
        }
        words.put("line", line);
        return words;
    }

    void send(String line) throws IOException {
        in.write(line + "\n");
        in.flush();
    }

    /** Records the processes of the host's tree as they are now (workers may have been replaced since). */
    List<ProcessTrees.Proc> remember() {
        List<ProcessTrees.Proc> now = process.isAlive() ? ProcessTrees.snapshot(process.toHandle()) : List.of();
        synchronized (seen) {
            seen.addAll(now);
        }
        return now;
    }

    /** Sends a signal (STOP, CONT, KILL) to the host process alone: its workers are left to fend for themselves. */
    /** Sends a signal; after {@code STOP}, returns once every thread of the host has stopped (the kernel's group
     * stop is not done when {@code kill} returns: a thread on the other core may still commit a claim). */
    void signal(String signal) {
        Signals.send(signal, process.pid());
        if (signal.equals("STOP")) {
            await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(1)).until(this::allThreadsStopped);
        }
    }

    /**
     * Stops the host (SIGSTOP) at a moment when {@code found} holds, continuing it between tries; Awaitility paces
     * the tries and bounds them by {@code within}. Records the host's processes at the moment kept.
     */
    void stopWhen(String what, Duration within, Callable<Boolean> found) {
        await(what).atMost(within).pollInterval(Duration.ofMillis(10)).until(() -> {
            signal("STOP");
            remember();
            if (found.call()) {
                return true;
            }
            signal("CONT");
            return false;
        });
    }

    private boolean allThreadsStopped() throws IOException {
        try (var threads = Files.list(Path.of("/proc", Long.toString(process.pid()), "task"))) {
            for (Path thread : (Iterable<Path>) threads::iterator) {
                String stat;
                try {
                    stat = Files.readString(thread.resolve("stat"));
                } catch (IOException gone) {
                    continue; // a thread that ended meanwhile
                }
                char state = stat.charAt(stat.lastIndexOf(')') + 2);
                if (state != 'T' && state != 't') {
                    return false;
                }
            }
        }
        return true;
    }

    /**
     * SIGKILL, as the kernel's OOM killer or an operator would: the host runs no code. Returns the kill's time and
     * waits for the host to be gone.
     */
    Instant kill() throws InterruptedException {
        remember();
        Instant at = Instant.now();
        signal("KILL");
        if (!process.waitFor(30, TimeUnit.SECONDS)) {
            throw new AssertionError("host " + name + " survived SIGKILL");
        }
        return at;
    }

    /** Waits until every process ever seen in the host's tree has exited (pid and start time). */
    void assertTreeGone() {
        List<ProcessTrees.Proc> all;
        synchronized (seen) {
            all = List.copyOf(seen);
        }
        ProcessTrees.assertAllGone(all);
    }

    String logTail(int lineCount) {
        try {
            List<String> all = Files.readAllLines(log, StandardCharsets.UTF_8);
            return String.join("\n", all.subList(Math.max(0, all.size() - lineCount), all.size()));
        } catch (IOException e) {
            return "(no log: " + e + ")";
        }
    }

    String log() throws IOException {
        return Files.readString(log, StandardCharsets.UTF_8);
    }

    /**
     * Closes the host's pool (CLOSE) and waits for it to exit; a host that does not is killed. Then checks that
     * nothing of its tree is left.
     */
    @Override
    public void close() throws Exception {
        try {
            if (process.isAlive()) {
                remember();
                signal("CONT"); // a test that failed while the host was stopped leaves it stopped
                try {
                    send("CLOSE");
                } catch (IOException e) {
                    // it is exiting already
                }
                if (!process.waitFor(60, TimeUnit.SECONDS)) {
                    process.destroyForcibly();
                    process.waitFor(30, TimeUnit.SECONDS);
                    throw new AssertionError("host " + name + " did not exit within 60 s of CLOSE; log:\n"
                            + logTail(40));
                }
            }
        } finally {
            assertTreeGone();
        }
    }
}
