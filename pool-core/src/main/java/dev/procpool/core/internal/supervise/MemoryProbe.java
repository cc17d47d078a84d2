package dev.procpool.core.internal.supervise;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Reads memory figures from the kernel: the container's limit and usage (cgroup v2, else cgroup v1, else the
 * machine's /proc/meminfo), the cgroup's OOM-kill count, and a process's resident set size.
 */
public class MemoryProbe {
    /** Memory in use and its limit, in bytes. */
    public record Usage(long usedBytes, long limitBytes, String source) {
        public double fraction() {
            return limitBytes <= 0 ? 0 : (double) usedBytes / limitBytes;
        }
    }

    private static final Path CGROUP2 = Path.of("/sys/fs/cgroup");
    private static final Path CGROUP1 = Path.of("/sys/fs/cgroup/memory");

    /** Current usage against the tightest known limit; {@code null} when nothing can be read. */
    public Usage usage() {
        Usage meminfo = fromMeminfo();
        Usage cgroup = fromCgroup2();
        if (cgroup == null) {
            cgroup = fromCgroup1();
        }
        if (cgroup != null && (meminfo == null || cgroup.limitBytes() < meminfo.limitBytes())) {
            return cgroup;
        }
        return meminfo;
    }

    /** How many processes the kernel's OOM killer has killed in this cgroup (cgroup v2), or -1 if unknown. */
    public long oomKills() {
        try {
            for (String line : Files.readAllLines(CGROUP2.resolve("memory.events"))) {
                if (line.startsWith("oom_kill ")) {
                    return Long.parseLong(line.substring(9).trim());
                }
            }
        } catch (IOException | RuntimeException e) {
            // not cgroup v2
        }
        return -1;
    }

    /** The resident set size of a process from /proc/<pid>/status (VmRSS), or 0 if it cannot be read. */
    public long residentBytes(long pid) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid), "status"))) {
                if (line.startsWith("VmRSS:")) {
                    return kib(line) * 1024;
                }
            }
        } catch (IOException | RuntimeException e) {
            // the process is gone, or there is no /proc
        }
        return 0;
    }

    /** /proc/<pid>/status as text, for the record of a zombie; empty if it cannot be read. */
    public String processStatus(long pid) {
        try {
            return Files.readString(Path.of("/proc", Long.toString(pid), "status"));
        } catch (IOException | RuntimeException e) {
            return "";
        }
    }

    private static Usage fromCgroup2() {
        String max = read(CGROUP2.resolve("memory.max"));
        String current = read(CGROUP2.resolve("memory.current"));
        if (max == null || current == null || max.equals("max")) {
            return null;
        }
        try {
            return new Usage(Long.parseLong(current), Long.parseLong(max), "cgroup v2");
        } catch (NumberFormatException e) {
            return null;
        }
    }

    private static Usage fromCgroup1() {
        String limit = read(CGROUP1.resolve("memory.limit_in_bytes"));
        String usage = read(CGROUP1.resolve("memory.usage_in_bytes"));
        if (limit == null || usage == null) {
            return null;
        }
        try {
            long limitBytes = Long.parseLong(limit);
            // an unlimited cgroup v1 reports a huge number
            return limitBytes > (1L << 60) ? null : new Usage(Long.parseLong(usage), limitBytes, "cgroup v1");
        } catch (NumberFormatException e) {
            return null;
        }
    }

    private static Usage fromMeminfo() {
        try {
            List<String> lines = Files.readAllLines(Path.of("/proc/meminfo"));
            long total = -1;
            long available = -1;
            for (String line : lines) {
                if (line.startsWith("MemTotal:")) {
                    total = kib(line) * 1024;
                } else if (line.startsWith("MemAvailable:")) {
                    available = kib(line) * 1024;
                }
            }
            return total > 0 && available >= 0 ? new Usage(total - available, total, "/proc/meminfo") : null;
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }

    private static long kib(String line) {
        String digits = line.replaceAll("[^0-9]", "");
        return digits.isEmpty() ? 0 : Long.parseLong(digits);
    }

    private static String read(Path path) {
        try {
            return Files.readString(path).trim();
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }
}
