package dev.procpool.core.internal.process;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/**
 * The fields of a Linux {@code /proc/<pid>/stat} line that the pool needs: the state letter (the engine replaces a
 * worker stopped before {@code ready} when it reads {@code 'T'}), the parent, the process group and session, and
 * the start time that tells a process from a later one with the same pid.
 *
 * @param pid          the process id
 * @param name         the command name the kernel keeps (at most 15 bytes; it may contain spaces and parentheses)
 * @param state        the state letter: {@code R} running, {@code S} sleeping, {@code D} in uninterruptible I/O,
 *                     {@code T} stopped by a signal, {@code t} stopped by a debugger, {@code Z} zombie, …
 * @param parentPid    the parent's pid
 * @param processGroup the process group id
 * @param session      the session id
 * @param startTicks   when the process started, in clock ticks after boot: a pid with another start time is another
 *                     process
 */
public record ProcStat(long pid, String name, char state, long parentPid, long processGroup, long session,
                       long startTicks) {
    private static final Path PROC = Path.of("/proc");

    /** The stat of a process, or empty if it does not exist (or this is not Linux). */
    public static Optional<ProcStat> read(long pid) {
        try {
            byte[] line = Files.readAllBytes(PROC.resolve(Long.toString(pid)).resolve("stat"));
            return Optional.of(parse(new String(line, StandardCharsets.UTF_8)));
        } catch (IOException | IllegalArgumentException e) {
            return Optional.empty(); // gone, not Linux, or a kernel that writes something else
        }
    }

    /**
     * Parses one stat line, {@code "1234 (name) S 1 1234 1234 …"}. The name is the text between the first
     * {@code '('} and the <em>last</em> {@code ')'}: a program may name itself {@code "a) b ("}.
     *
     * @throws IllegalArgumentException naming the line if it is not a stat line
     */
    public static ProcStat parse(String line) {
        int open = line.indexOf('(');
        int close = line.lastIndexOf(')');
        if (open <= 0 || close < open) {
            throw new IllegalArgumentException("not a /proc/<pid>/stat line (no \"(name)\"): " + shorten(line));
        }
        // after the name: state ppid pgrp session tty_nr tpgid flags minflt cminflt majflt cmajflt utime stime
        // cutime cstime priority nice num_threads itrealvalue starttime … (proc(5): fields 3 to 22)
        String[] rest = line.substring(close + 1).trim().split(" ");
        if (rest.length < 20 || rest[0].length() != 1) {
            throw new IllegalArgumentException("not a /proc/<pid>/stat line (" + rest.length
                    + " fields after the name, 20 or more expected): " + shorten(line));
        }
        try {
            return new ProcStat(Long.parseLong(line.substring(0, open).trim()), line.substring(open + 1, close),
                    rest[0].charAt(0), Long.parseLong(rest[1]), Long.parseLong(rest[2]), Long.parseLong(rest[3]),
                    Long.parseLong(rest[19]));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("not a /proc/<pid>/stat line (" + e.getMessage() + "): "
                    + shorten(line));
        }
    }

    /** Stopped by a signal (SIGSTOP, SIGTSTP, …) or by a debugger. */
    public boolean isStopped() {
        return state == 'T' || state == 't';
    }

    /** Exited and only waiting for its parent to collect its status: it runs nothing any more. */
    public boolean isZombie() {
        return state == 'Z' || state == 'X' || state == 'x';
    }

    private static String shorten(String line) {
        String oneLine = SafeText.escape(line.strip());
        return oneLine.length() <= 200 ? oneLine : oneLine.substring(0, 200) + "…";
    }
}
