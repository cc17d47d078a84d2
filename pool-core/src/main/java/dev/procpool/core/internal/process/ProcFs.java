package dev.procpool.core.internal.process;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Reads Linux's {@code /proc}: every process at once, a process's environment and its open pipes. Everything here
 * answers "nothing" where there is no {@code /proc} (macOS) or a process is gone or not ours to read.
 */
public final class ProcFs {
    private static final Path PROC = Path.of("/proc");
    private static final boolean AVAILABLE = ProcStat.read(ProcessHandle.current().pid()).isPresent();

    private ProcFs() {
    }

    /** Whether this system has a readable {@code /proc} in the Linux format. */
    public static boolean available() {
        return AVAILABLE;
    }

    /** Every process, as one reading (processes come and go while it is taken). Empty without {@code /proc}. */
    public static List<ProcStat> snapshot() {
        List<ProcStat> all = new ArrayList<>();
        if (!AVAILABLE) {
            return all;
        }
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(PROC)) {
            for (Path entry : entries) {
                long pid = pidOf(entry.getFileName().toString());
                if (pid > 0) {
                    ProcStat.read(pid).ifPresent(all::add);
                }
            }
        } catch (IOException | RuntimeException e) {
            // /proc vanished or cannot be listed: what was read is still true
        }
        return all;
    }

    /** The processes of {@code table} whose parent, grandparent … is one of {@code roots}, roots excluded. */
    public static Set<Long> descendants(List<ProcStat> table, Set<Long> roots) {
        Map<Long, List<Long>> children = new HashMap<>();
        for (ProcStat process : table) {
            children.computeIfAbsent(process.parentPid(), k -> new ArrayList<>()).add(process.pid());
        }
        Set<Long> found = new HashSet<>();
        List<Long> next = new ArrayList<>(roots);
        while (!next.isEmpty()) {
            Long parent = next.remove(next.size() - 1);
            for (Long child : children.getOrDefault(parent, List.of())) {
                if (!roots.contains(child) && found.add(child)) {
                    next.add(child);
                }
            }
        }
        return found;
    }

    /**
     * The value of one variable in the environment a process started with ({@code /proc/<pid>/environ}), or empty
     * if it has none, is gone, or is not readable by this user.
     */
    public static Optional<String> environmentValue(long pid, String name) {
        byte[] environ;
        try {
            environ = Files.readAllBytes(PROC.resolve(Long.toString(pid)).resolve("environ"));
        } catch (IOException | RuntimeException e) {
            return Optional.empty();
        }
        byte[] key = (name + '=').getBytes(StandardCharsets.UTF_8);
        int start = 0;
        while (start < environ.length) {
            int end = start;
            while (end < environ.length && environ[end] != 0) {
                end++;
            }
            if (end - start >= key.length && regionEquals(environ, start, key)) {
                return Optional.of(new String(environ, start + key.length, end - start - key.length,
                        StandardCharsets.UTF_8));
            }
            start = end + 1;
        }
        return Optional.empty();
    }

    /** What a process's file descriptor refers to, e.g. {@code pipe:[123456]}; empty if unknown. */
    public static Optional<String> fileDescriptorTarget(long pid, int fd) {
        try {
            return Optional.of(Files.readSymbolicLink(PROC.resolve(Long.toString(pid)).resolve("fd")
                    .resolve(Integer.toString(fd))).toString());
        } catch (IOException | RuntimeException e) {
            return Optional.empty();
        }
    }

    /**
     * The processes of {@code table} that hold an open file descriptor referring to one of {@code targets} (as
     * {@link #fileDescriptorTarget} names them), this JVM excluded. Reads every descriptor of every process this
     * user may see: slow, for exceptional cases.
     */
    public static List<ProcStat> holdersOf(List<ProcStat> table, Set<String> targets) {
        long self = ProcessHandle.current().pid();
        List<ProcStat> holders = new ArrayList<>();
        for (ProcStat process : table) {
            if (process.pid() == self) {
                continue;
            }
            try (DirectoryStream<Path> fds = Files.newDirectoryStream(PROC.resolve(Long.toString(process.pid()))
                    .resolve("fd"))) {
                for (Path fd : fds) {
                    if (targets.contains(Files.readSymbolicLink(fd).toString())) {
                        holders.add(process);
                        break;
                    }
                }
            } catch (IOException | RuntimeException e) {
                // gone, or another user's
            }
        }
        return holders;
    }

    private static boolean regionEquals(byte[] bytes, int from, byte[] expected) {
        for (int i = 0; i < expected.length; i++) {
            if (bytes[from + i] != expected[i]) {
                return false;
            }
        }
        return true;
    }

    private static long pidOf(String name) {
        if (name.isEmpty() || name.length() > 18) {
            return -1;
        }
        for (int i = 0; i < name.length(); i++) {
            if (name.charAt(i) < '0' || name.charAt(i) > '9') {
                return -1;
            }
        }
        return Long.parseLong(name);
    }
}
