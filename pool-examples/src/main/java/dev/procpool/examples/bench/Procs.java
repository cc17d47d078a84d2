package dev.procpool.examples.bench;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/** Reads what the benchmark needs from Linux's {@code /proc}; every method degrades to "unknown" elsewhere. */
final class Procs {
    private static final long CLOCK_TICKS_PER_SECOND = clockTicks();

    private Procs() {
    }

    /** The kernel's clock ticks per second ({@code USER_HZ}), the unit of CPU times in {@code /proc}. */
    static long clockTicksPerSecond() {
        return CLOCK_TICKS_PER_SECOND;
    }

    /** Resident memory of a process in bytes ({@code VmRSS}), or -1. */
    static long rssBytes(long pid) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid), "status"))) {
                if (line.startsWith("VmRSS:")) {
                    return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
                }
            }
        } catch (IOException | RuntimeException e) {
            // unknown
        }
        return -1;
    }

    /** User plus system CPU time a process has used, in nanoseconds (clock-tick resolution), or -1. */
    static long cpuNanos(long pid) {
        long[] cpu = cpu(pid);
        return cpu == null ? -1 : cpu[0] + cpu[1];
    }

    /** User and system CPU time a process has used, in nanoseconds (clock-tick resolution), or null. */
    static long[] cpu(long pid) {
        try {
            String[] fields = statFields(pid);
            if (fields == null) {
                return null;
            }
            long nanosPerTick = 1_000_000_000L / CLOCK_TICKS_PER_SECOND;
            return new long[] {Long.parseLong(fields[11]) * nanosPerTick, Long.parseLong(fields[12]) * nanosPerTick};
        } catch (RuntimeException e) {
            return null;
        }
    }

    /**
     * When a process started, in clock ticks since boot (field 22 of {@code /proc/<pid>/stat}), or -1 when there is
     * no such process. With the pid it names one process for good: a pid can be reused, a start time with it cannot.
     */
    static long startTicks(long pid) {
        String[] fields = statFields(pid);
        if (fields == null) {
            return -1;
        }
        try {
            return Long.parseLong(fields[19]);
        } catch (RuntimeException e) {
            return -1;
        }
    }

    /**
     * Whether the process that had this pid and start time still runs: false once it is gone, a zombie waiting to
     * be reaped (dead; only its exit status is left), or its pid belongs to another process.
     */
    static boolean alive(long pid, long startTicks) {
        String[] fields = statFields(pid);
        if (fields == null || fields.length < 20) {
            return false;
        }
        String state = fields[0];
        return !state.equals("Z") && !state.equals("X") && fields[19].equals(Long.toString(startTicks));
    }

    /** The fields of {@code /proc/<pid>/stat} after the command (the state first), or null. */
    private static String[] statFields(long pid) {
        try {
            String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
            // the command is in parentheses and may contain spaces and parentheses: cut at the last ')'
            return stat.substring(stat.lastIndexOf(')') + 2).trim().split(" ");
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }

    /** Context switches (voluntary and not) of all of a process's threads alive now, or -1. */
    static long contextSwitches(long pid) {
        long total = 0;
        try (java.nio.file.DirectoryStream<Path> threads = Files.newDirectoryStream(
                Path.of("/proc", Long.toString(pid), "task"))) {
            for (Path thread : threads) {
                try {
                    for (String line : Files.readAllLines(thread.resolve("status"))) {
                        if (line.startsWith("voluntary_ctxt_switches") || line.startsWith("nonvoluntary_ctxt_switches")) {
                            total += Long.parseLong(line.replaceAll("[^0-9]", ""));
                        }
                    }
                } catch (IOException e) {
                    // the thread ended meanwhile
                }
            }
            return total;
        } catch (IOException | RuntimeException e) {
            return -1;
        }
    }

    /** A process's command line, arguments separated by spaces, or "". */
    static String commandLine(long pid) {
        try {
            byte[] raw = Files.readAllBytes(Path.of("/proc", Long.toString(pid), "cmdline"));
            return new String(raw, StandardCharsets.UTF_8).replace('\0', ' ').trim();
        } catch (IOException | RuntimeException e) {
            return "";
        }
    }

    /** The 1, 5 and 15 minute load averages as text, or "unknown". */
    static String loadAverage() {
        try {
            String[] parts = Files.readString(Path.of("/proc/loadavg")).trim().split(" ");
            return parts[0] + " " + parts[1] + " " + parts[2];
        } catch (IOException | RuntimeException e) {
            return "unknown";
        }
    }

    /** The machine and JVM the benchmark runs on. */
    static Map<String, Object> machine() {
        Map<String, Object> machine = new LinkedHashMap<>();
        machine.put("cpus", Runtime.getRuntime().availableProcessors());
        machine.put("cpuModel", firstValue(Path.of("/proc/cpuinfo"), "model name"));
        String memTotal = firstValue(Path.of("/proc/meminfo"), "MemTotal");
        machine.put("memTotal", memTotal);
        machine.put("os", System.getProperty("os.name") + " " + System.getProperty("os.version") + " "
                + System.getProperty("os.arch"));
        machine.put("java", System.getProperty("java.vm.name") + " " + System.getProperty("java.runtime.version")
                + " (" + System.getProperty("java.vendor") + ")");
        machine.put("hostMaxHeapMiB", Runtime.getRuntime().maxMemory() >> 20);
        machine.put("clockTicksPerSecond", CLOCK_TICKS_PER_SECOND);
        return machine;
    }

    private static String firstValue(Path file, String key) {
        try {
            for (String line : Files.readAllLines(file)) {
                if (line.startsWith(key)) {
                    return line.substring(line.indexOf(':') + 1).trim();
                }
            }
        } catch (IOException | RuntimeException e) {
            // unknown
        }
        return "unknown";
    }

    private static long clockTicks() {
        try {
            Process getconf = new ProcessBuilder("getconf", "CLK_TCK").redirectErrorStream(true).start();
            String out = new String(getconf.getInputStream().readAllBytes(), StandardCharsets.US_ASCII).trim();
            if (getconf.waitFor(5, TimeUnit.SECONDS) && getconf.exitValue() == 0) {
                return Long.parseLong(out);
            }
        } catch (IOException | RuntimeException e) {
            // fall through
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return 100; // Linux's USER_HZ almost everywhere
    }
}
