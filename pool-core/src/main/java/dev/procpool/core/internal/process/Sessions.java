package dev.procpool.core.internal.process;

import dev.procpool.core.internal.Loggers;
import org.slf4j.Logger;

import java.io.File;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * Starting a worker as the leader of a session and process group of its own, and signalling a whole group. Java
 * can do neither: a worker is started through {@code setsid} (util-linux, or busybox), which calls
 * {@code setsid()} and execs the program in place when its caller is not a group leader (a child of the JVM never
 * is), so the pid stays the worker's; groups are signalled with the system's {@code kill} and a negative pid. Both
 * are looked for once; {@link #available()} is false where they are missing or behave otherwise (macOS has no
 * {@code setsid}), and workers then share the host's group.
 */
final class Sessions {
    private static final Logger LOG = Loggers.pool();
    private static final long TOOL_TIMEOUT_SECONDS = 5;

    private static volatile Tools tools;

    private record Tools(String setsid, String kill) {
    }

    private Sessions() {
    }

    /** Whether workers can be started in a session of their own here. */
    static boolean available() {
        return tools().setsid() != null;
    }

    /**
     * The argument list that starts {@code argv} in a session of its own, or {@code argv} unchanged where that is
     * not available. The program is looked for as {@link ProcessBuilder} would (on the host's {@code PATH} if its
     * name has no slash), so a program that does not exist fails here with the same {@link IOException} as
     * without {@code setsid}, instead of as a worker that exits with 127.
     */
    static List<String> inOwnSession(List<String> argv, Path workingDirectory) throws IOException {
        String setsid = tools().setsid();
        if (setsid == null) {
            return argv;
        }
        List<String> wrapped = new ArrayList<>(argv.size() + 1);
        wrapped.add(setsid);
        wrapped.add(locate(argv.get(0), workingDirectory));
        wrapped.addAll(argv.subList(1, argv.size()));
        return wrapped;
    }

    /**
     * Sends a signal (by name: TERM, KILL, …) to every process of the group {@code groupId}. Returns false if the
     * group has no process left or {@code kill} is missing or failed.
     */
    static boolean signalGroup(long groupId, String signal) {
        return run(tools().kill(), signal, "-" + groupId);
    }

    /** Sends a signal (by name) to one process; for signals Java has no method for (QUIT, STOP, CONT). */
    static boolean signal(long pid, String signal) {
        return run(tools().kill(), signal, Long.toString(pid));
    }

    private static boolean run(String kill, String signal, String target) {
        if (kill == null) {
            return false;
        }
        try {
            Process process = new ProcessBuilder(kill, "-s", signal, "--", target).redirectErrorStream(true)
                    .start();
            process.getInputStream().transferTo(OutputStream.nullOutputStream());
            return process.waitFor(TOOL_TIMEOUT_SECONDS, TimeUnit.SECONDS) && process.exitValue() == 0;
        } catch (IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    private static String locate(String program, Path workingDirectory) throws IOException {
        String where = workingDirectory == null ? "" : " (in directory \"" + workingDirectory + "\")";
        if (program.indexOf('/') >= 0) {
            Path path = Path.of(program);
            if (!path.isAbsolute() && workingDirectory != null) {
                path = workingDirectory.resolve(path);
            }
            check(path, program, where);
            return program; // exec resolves it against the worker's directory, as without setsid
        }
        for (Path directory : searchPath()) {
            Path candidate = directory.resolve(program);
            if (Files.isRegularFile(candidate) && Files.isExecutable(candidate)) {
                return candidate.toString();
            }
        }
        throw new IOException("Cannot run program \"" + program + "\"" + where + ": error=2, No such file or directory");
    }

    private static void check(Path path, String program, String where) throws IOException {
        if (!Files.exists(path)) {
            throw new IOException("Cannot run program \"" + program + "\"" + where
                    + ": error=2, No such file or directory");
        }
        if (Files.isDirectory(path) || !Files.isExecutable(path)) {
            throw new IOException("Cannot run program \"" + program + "\"" + where + ": error=13, Permission denied");
        }
    }

    /** The host's PATH, which is also where the JDK looks for a program (not the worker's PATH). */
    private static List<Path> searchPath() {
        String path = System.getenv("PATH");
        Set<Path> directories = new LinkedHashSet<>();
        for (String entry : (path == null || path.isEmpty() ? "/usr/bin:/bin" : path).split(File.pathSeparator)) {
            directories.add(Path.of(entry.isEmpty() ? "." : entry));
        }
        return List.copyOf(directories);
    }

    private static Optional<String> onPath(String name) {
        for (Path directory : searchPath()) {
            Path candidate = directory.resolve(name);
            if (candidate.isAbsolute() && Files.isRegularFile(candidate) && Files.isExecutable(candidate)) {
                return Optional.of(candidate.toString());
            }
        }
        return Optional.empty();
    }

    private static Tools tools() {
        Tools found = tools;
        if (found == null) {
            synchronized (Sessions.class) {
                found = tools;
                if (found == null) {
                    String kill = onPath("kill").orElse(null);
                    String setsid = kill == null ? null : onPath("setsid").filter(Sessions::execsInPlace).orElse(null);
                    found = new Tools(setsid, kill);
                    tools = found;
                }
            }
        }
        return found;
    }

    /**
     * Whether {@code setsid} runs a program in place as the leader of a new session: the process it starts reads
     * its own {@code /proc/self/stat} and must find its pid, group and session equal to the pid Java was given.
     */
    private static boolean execsInPlace(String setsid) {
        Optional<String> cat = onPath("cat");
        if (cat.isEmpty() || !ProcFs.available()) {
            LOG.info("workers share the host's process group: no /proc or no cat to check {} with; a worker's "
                    + "child processes are found by what is recorded of them", setsid);
            return false;
        }
        try {
            Process probe = new ProcessBuilder(setsid, cat.get(), "/proc/self/stat").redirectErrorStream(true).start();
            byte[] out = probe.getInputStream().readNBytes(4096);
            if (!probe.waitFor(TOOL_TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
                probe.destroyForcibly();
                return false;
            }
            ProcStat stat = ProcStat.parse(new String(out, StandardCharsets.UTF_8));
            boolean inPlace = stat.pid() == probe.pid() && stat.session() == probe.pid()
                    && stat.processGroup() == probe.pid();
            if (!inPlace) {
                LOG.info("workers share the host's process group: {} does not run a program in place as a session "
                        + "leader ({})", setsid, stat);
            }
            return inPlace;
        } catch (IOException | IllegalArgumentException e) {
            LOG.info("workers share the host's process group: checking {} failed: {}", setsid, e.getMessage());
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }
}
