package dev.procpool.examples;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The daemon as a user installs it: the archive the build made is unpacked in an empty folder and the commands of
 * README's daemon section run there, as written (only the port is a free one instead of 7878, which may be taken
 * on a build machine): start, status, a task, metrics, stop, the Python-worker recipe, stop. Afterwards no process
 * they started is alive (each found by pid and start time while it ran, however it was parented), and nothing was
 * written outside the unpacked folder.
 */
@Timeout(value = 300, unit = TimeUnit.SECONDS)
class DistributionIT {
    private static final Path MODULE = Path.of(System.getProperty("basedir", System.getProperty("user.dir")));
    private static final String VERSION = System.getProperty("project.version", "0.1.0-SNAPSHOT");

    private final ProcessRecords processes = new ProcessRecords();
    private volatile boolean watching = true;

    @AfterEach
    void stopWatchingAndKillLeftovers() {
        watching = false;
        processes.killAlive(); // only after a failure: a passing test saw them all end
    }

    @Test
    void theReadmesDaemonCommandsWorkAsWrittenFromTheArchive(@TempDir Path temp) throws Exception {
        List<String> commands = readmeDaemonCommands();
        Path archive = MODULE.resolve("target/procpool-daemon-" + VERSION + ".tar.gz");
        assertTrue(Files.isRegularFile(archive), archive + " is built in the package phase");
        assertTrue(commands.get(0).contains("pool-examples/target/" + archive.getFileName()),
                "the README unpacks the archive the build makes: " + commands.get(0));

        // The README's commands start in the repository's folder; here a folder with only the archive in place.
        Path user = Files.createDirectory(temp.resolve("user"));
        Files.createDirectories(user.resolve("pool-examples/target"));
        Files.createSymbolicLink(user.resolve("pool-examples/target").resolve(archive.getFileName()), archive);
        int port = freePort();
        StringBuilder script = new StringBuilder("set -euo pipefail\n");
        for (int i = 0; i < commands.size(); i++) {
            script.append("echo '### ").append(i).append("'\n").append(commands.get(i).replace("7878",
                    Integer.toString(port))).append('\n');
        }
        ProcessBuilder builder = new ProcessBuilder("bash", "-c", script.toString()).directory(user.toFile())
                .redirectErrorStream(true);
        builder.environment().keySet().removeIf(name -> name.startsWith("POOL_") || name.startsWith("PROCPOOL_"));
        builder.environment().put("JAVA_HOME", System.getProperty("java.home"));
        builder.environment().put("POOL_PORT", Integer.toString(port)); // what a user does when 7878 is taken
        Thread watcher = watch(user);
        long started = System.nanoTime();
        Process shell = builder.start();
        String output = new String(shell.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(shell.waitFor(240, TimeUnit.SECONDS), output);
        long seconds = TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - started);
        watching = false;
        watcher.join(5_000);
        System.out.println("README daemon commands (" + seconds + " s):\n" + output);
        assertEquals(0, shell.exitValue(), output);

        List<String> steps = steps(output, commands.size());
        assertTrue(steps.get(1).contains("procpoold: started (pid"), steps.get(1));
        assertTrue(steps.get(2).contains("procpoold: running (pid") && steps.get(2).contains("\"state\":\"RUNNING\""),
                steps.get(2));
        assertTrue(steps.get(3).contains("\"state\":\"SUCCEEDED\"") && steps.get(3).contains("\"result\":\"HELLO\""),
                steps.get(3));
        assertTrue(steps.get(4).contains("procpool_tasks_completed_total{"), steps.get(4));
        assertTrue(steps.get(5).contains("procpoold: stopped"), steps.get(5));
        assertTrue(steps.get(6).contains("procpoold: started (pid"), steps.get(6));
        assertTrue(steps.get(7).contains("\"result\":{\"text\":\"HELLO\""), "the Python worker answered: "
                + steps.get(7));
        assertTrue(steps.get(8).contains("procpoold: stopped"), steps.get(8));

        // Daemons and workers, Java and Python, all seen while they ran; none is left.
        assertTrue(processes.size() >= 1 + 2 + 1 + 2, "daemons and workers seen: " + processes.size());
        processes.assertNoneAlive(Duration.ofSeconds(30));

        Path home = user.resolve("procpool-daemon-" + VERSION);
        assertTrue(Files.isRegularFile(home.resolve("var/procpoold.log")), "the log is in var/");
        assertFalse(Files.exists(home.resolve("var/procpoold.pid")), "the pid file is removed on stop");
        try (Stream<Path> written = Files.list(user)) {
            assertEquals(List.of("pool-examples", "procpool-daemon-" + VERSION),
                    written.map(p -> p.getFileName().toString()).sorted().toList(),
                    "nothing is written to the folder the commands ran in");
        }
    }

    /** The shell lines of the first {@code sh} block of README's "The daemon" section. */
    private static List<String> readmeDaemonCommands() throws IOException {
        String readme = Files.readString(MODULE.getParent().resolve("README.md"));
        int section = readme.indexOf("### The daemon");
        assertTrue(section >= 0, "README has a daemon section");
        Matcher block = Pattern.compile("```sh\n(.*?)```", Pattern.DOTALL).matcher(readme);
        assertTrue(block.find(section), "the daemon section has an sh block");
        List<String> commands = new ArrayList<>();
        for (String line : block.group(1).split("\n")) {
            if (!line.isBlank()) {
                commands.add(line);
            }
        }
        assertEquals(9, commands.size(), "unpack, start, status, task, metrics, stop, Python start, task, stop: "
                + commands);
        return commands;
    }

    /** The output of each command, split at the markers the script echoes. */
    private static List<String> steps(String output, int count) {
        List<String> steps = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            int from = output.indexOf("### " + i + "\n");
            int to = i + 1 < count ? output.indexOf("### " + (i + 1) + "\n") : output.length();
            assertTrue(from >= 0 && to >= from, "the output of command " + i + " in:\n" + output);
            steps.add(output.substring(from, to));
        }
        return steps;
    }

    /**
     * Records, until the test ends, every process that runs in {@code dir} or names it on its command line: the
     * daemons, and their workers in any language, however they are parented.
     */
    private Thread watch(Path dir) {
        String path = dir.toString();
        Thread thread = new Thread(() -> {
            while (watching) {
                ProcessHandle.allProcesses().forEach(p -> {
                    if (p.info().commandLine().map(c -> c.contains(path)).orElse(false) || runsIn(p.pid(), path)) {
                        processes.record(p.pid());
                    }
                });
                try {
                    Thread.sleep(100);
                } catch (InterruptedException e) {
                    return;
                }
            }
        }, "distribution-it-watcher");
        thread.setDaemon(true);
        thread.start();
        return thread;
    }

    private static boolean runsIn(long pid, String dir) {
        try {
            return Files.readSymbolicLink(Path.of("/proc", Long.toString(pid), "cwd")).toString().startsWith(dir);
        } catch (IOException | UnsupportedOperationException | SecurityException e) {
            return false;
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
            return socket.getLocalPort();
        }
    }
}
