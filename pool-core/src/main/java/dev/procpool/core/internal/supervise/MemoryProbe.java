package dev.procpool.core.internal.supervise;

import dev.procpool.core.internal.text.Units;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Reads memory figures from the kernel: the limit and usage of the pool's own memory cgroup (v2, or v1 with the
 * memory controller, as {@code /proc/self/cgroup} and {@code /proc/self/mountinfo} name them; hybrid layouts
 * included), else the machine's {@code /proc/meminfo}; the cgroup's OOM-kill count; a process's resident set size.
 *
 * <p>What counts:
 * <ul>
 *   <li>The limit is the tightest one between the pool's cgroup and the top of the mounted hierarchy, since a
 *   parent's limit binds its children (a container's limit often sits one level up). Of the levels with a limit,
 *   the one with the least room left is reported.</li>
 *   <li>Memory in use is the cgroup's usage less its inactive file cache, which the kernel reclaims before it
 *   kills anything (the working set, as the kubelet and {@code docker stats} count it): a host that reads large
 *   files should not close the memory gate.</li>
 *   <li>OOM kills: {@code oom_kill} of {@code memory.events} (v2) or of {@code memory.oom_control} (v1, kernels
 *   4.13 and later). Both count kills in the cgroup and below it, so workers placed in child cgroups count too.
 *   On older v1 kernels the count is unknown (-1): {@code memory.failcnt} counts times usage hit the limit, which
 *   happens without any kill, so it is not taken as evidence of one.</li>
 * </ul>
 *
 * <p>Every path is read below a root folder, {@code /} in production and a made-up tree in tests. Which cgroup
 * folder to read is worked out once, on first use.
 */
public class MemoryProbe {
    /** Memory in use and its limit, in bytes, and where the figures come from. */
    public record Usage(long usedBytes, long limitBytes, String source) {
        public double fraction() {
            return limitBytes <= 0 ? 0 : (double) usedBytes / limitBytes;
        }

        @Override
        public String toString() {
            return Units.bytes(usedBytes) + " of " + Units.bytes(limitBytes) + " (" + Math.round(fraction() * 100)
                    + " %) from " + source;
        }
    }

    /** Beyond this a cgroup v1 limit means "no limit" (the kernel reports about 2^63 rounded to a page). */
    private static final long UNLIMITED = 1L << 60;

    /** The memory cgroup of this process: its version, its folder, the top of the mounted hierarchy. */
    private record Cgroup(int version, Path directory, Path mountPoint, String path) {
    }

    private final Path root;
    /** Resolved on first use; {@link Optional#empty()} when there is no memory cgroup to read. */
    private volatile Optional<Cgroup> cgroup;

    /** A probe of this machine. */
    public MemoryProbe() {
        this(Path.of("/"));
    }

    /** A probe that reads {@code /proc} and {@code /sys} below {@code root} instead of {@code /}. */
    public MemoryProbe(Path root) {
        this.root = root;
    }

    /** Current usage against the tightest known limit; {@code null} when nothing can be read. */
    public Usage usage() {
        Usage meminfo = fromMeminfo();
        Usage fromCgroup = cgroup().map(this::fromCgroup).orElse(null);
        if (fromCgroup != null && (meminfo == null || fromCgroup.limitBytes() < meminfo.limitBytes())) {
            return fromCgroup;
        }
        return meminfo;
    }

    /** How many processes the kernel's OOM killer has killed in the pool's cgroup and below, or -1 if unknown. */
    public long oomKills() {
        Optional<Cgroup> group = cgroup();
        if (group.isEmpty()) {
            return -1;
        }
        String file = group.get().version() == 2 ? "memory.events" : "memory.oom_control";
        try {
            for (String line : Files.readAllLines(group.get().directory().resolve(file))) {
                if (line.startsWith("oom_kill ")) {
                    return Long.parseLong(line.substring("oom_kill ".length()).trim());
                }
            }
        } catch (IOException | RuntimeException e) {
            // the file is gone or unreadable: unknown
        }
        return -1;
    }

    /** Which memory cgroup this probe reads, for a log line; "none" when it reads only /proc/meminfo. */
    public String cgroupDescription() {
        return cgroup().map(c -> "cgroup v" + c.version() + " " + c.path() + " at " + c.directory()).orElse("none");
    }

    /** The resident set size of a process from /proc/<pid>/status (VmRSS), or 0 if it cannot be read. */
    public long residentBytes(long pid) {
        try {
            for (String line : Files.readAllLines(procStatus(pid))) {
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
            return Files.readString(procStatus(pid));
        } catch (IOException | RuntimeException e) {
            return "";
        }
    }

    private Path procStatus(long pid) {
        return root.resolve("proc").resolve(Long.toString(pid)).resolve("status");
    }

    // ------------------------------------------------------------------ which cgroup

    private Optional<Cgroup> cgroup() {
        Optional<Cgroup> resolved = cgroup;
        if (resolved == null) {
            resolved = resolveCgroup();
            cgroup = resolved;
        }
        return resolved;
    }

    /**
     * The memory cgroup named by /proc/self/cgroup, found under its mount point from /proc/self/mountinfo. On a
     * hybrid layout the memory controller is on v1 and the v2 hierarchy has no memory files; the kernel never puts
     * it on both.
     */
    private Optional<Cgroup> resolveCgroup() {
        String v1Path = null;
        String v2Path = null;
        for (String line : lines(root.resolve("proc/self/cgroup"))) {
            String[] fields = line.split(":", 3); // hierarchy id : controllers : path
            if (fields.length < 3) {
                continue;
            }
            if (fields[0].equals("0") && fields[1].isEmpty()) {
                v2Path = fields[2];
            } else if (List.of(fields[1].split(",")).contains("memory")) {
                v1Path = fields[2];
            }
        }
        Mount v1Mount = null;
        Mount v2Mount = null;
        for (String line : lines(root.resolve("proc/self/mountinfo"))) {
            Mount mount = Mount.parse(line);
            if (mount == null) {
                continue;
            }
            if (mount.type().equals("cgroup") && mount.superOptions().contains("memory") && v1Mount == null) {
                v1Mount = mount;
            } else if (mount.type().equals("cgroup2") && v2Mount == null) {
                v2Mount = mount;
            }
        }
        if (v1Path != null && v1Mount != null) {
            Path directory = directory(v1Mount, v1Path);
            if (Files.isRegularFile(directory.resolve("memory.usage_in_bytes"))) {
                return Optional.of(new Cgroup(1, directory, mountPoint(v1Mount), v1Path));
            }
        }
        if (v2Path != null && v2Mount != null) {
            Path directory = directory(v2Mount, v2Path);
            // the root of a v2 hierarchy has no memory.current, and a hybrid one no memory files at all
            if (Files.isRegularFile(directory.resolve("memory.current"))) {
                return Optional.of(new Cgroup(2, directory, mountPoint(v2Mount), v2Path));
            }
        }
        return Optional.empty();
    }

    private Path mountPoint(Mount mount) {
        return root.resolve(mount.mountPoint().substring(1));
    }

    /**
     * The folder of a cgroup path under a mount. The mount shows the hierarchy from its own root, which in a
     * container is often the container's cgroup itself; a path outside what is mounted (as some runtimes report)
     * falls back to the mount point.
     */
    private Path directory(Mount mount, String cgroupPath) {
        Path mountPoint = mountPoint(mount);
        String relative;
        if (mount.root().equals("/")) {
            relative = cgroupPath;
        } else if (cgroupPath.equals(mount.root()) || cgroupPath.startsWith(mount.root() + "/")) {
            relative = cgroupPath.substring(mount.root().length());
        } else {
            return mountPoint;
        }
        relative = relative.replaceAll("^/+", "");
        if (relative.isEmpty()) {
            return mountPoint;
        }
        Path directory = mountPoint.resolve(relative).normalize();
        return directory.startsWith(mountPoint) && Files.isDirectory(directory) ? directory : mountPoint;
    }

    /** One line of /proc/self/mountinfo: the fields this probe needs. */
    private record Mount(String root, String mountPoint, String type, List<String> superOptions) {
        /**
         * {@code 35 31 0:32 / /sys/fs/cgroup/memory rw,relatime shared:1 - cgroup cgroup rw,memory}: root and mount
         * point are fields 4 and 5, then optional fields up to " - ", then the type, the source and the super
         * options.
         */
        static Mount parse(String line) {
            int separator = line.indexOf(" - ");
            if (separator < 0) {
                return null;
            }
            String[] before = line.substring(0, separator).split(" ");
            String[] after = line.substring(separator + 3).split(" ");
            if (before.length < 5 || after.length < 3) {
                return null;
            }
            return new Mount(unescape(before[3]), unescape(before[4]), after[0], List.of(after[2].split(",")));
        }

        /** The kernel writes space, tab, newline and backslash in paths as octal escapes ({@code \040}). */
        private static String unescape(String field) {
            StringBuilder out = new StringBuilder(field.length());
            for (int i = 0; i < field.length(); i++) {
                char c = field.charAt(i);
                if (c == '\\' && i + 3 < field.length() && field.substring(i + 1, i + 4).matches("[0-7]{3}")) {
                    out.append((char) Integer.parseInt(field.substring(i + 1, i + 4), 8));
                    i += 3;
                } else {
                    out.append(c);
                }
            }
            return out.toString();
        }
    }

    // ------------------------------------------------------------------ reading figures

    /** The level between the pool's cgroup and the mount point with a limit and the least room left. */
    private Usage fromCgroup(Cgroup group) {
        List<Usage> limited = new ArrayList<>();
        String path = group.path();
        for (Path level = group.directory(); level != null && level.startsWith(group.mountPoint());
             level = level.getParent()) {
            Usage usage = group.version() == 2 ? v2Level(level, path) : v1Level(level, path);
            if (usage != null) {
                limited.add(usage);
            }
            path = parentPath(path);
        }
        if (group.version() == 1) {
            // a limit set above what is mounted (in a container) shows only as the hierarchical limit
            Usage own = v1Level(group.directory(), group.path());
            long hierarchical = statValue(group.directory(), "hierarchical_memory_limit");
            Long usage = usedBytes(group.directory(), "memory.usage_in_bytes", "total_inactive_file");
            if (hierarchical > 0 && hierarchical < UNLIMITED && usage != null
                    && (own == null || hierarchical < own.limitBytes())) {
                limited.add(new Usage(usage, hierarchical, "cgroup v1 " + group.path() + " (hierarchical limit)"));
            }
        }
        Usage tightest = null;
        for (Usage usage : limited) {
            if (tightest == null
                    || usage.limitBytes() - usage.usedBytes() < tightest.limitBytes() - tightest.usedBytes()) {
                tightest = usage;
            }
        }
        return tightest;
    }

    private static Usage v2Level(Path level, String path) {
        String max = read(level.resolve("memory.max"));
        Long used = usedBytes(level, "memory.current", "inactive_file");
        if (max == null || used == null || max.equals("max")) {
            return null;
        }
        try {
            return new Usage(used, Long.parseLong(max), "cgroup v2 " + path);
        } catch (NumberFormatException e) {
            return null;
        }
    }

    private static Usage v1Level(Path level, String path) {
        String limit = read(level.resolve("memory.limit_in_bytes"));
        Long used = usedBytes(level, "memory.usage_in_bytes", "total_inactive_file");
        if (limit == null || used == null) {
            return null;
        }
        try {
            long limitBytes = Long.parseLong(limit);
            return limitBytes >= UNLIMITED ? null : new Usage(used, limitBytes, "cgroup v1 " + path);
        } catch (NumberFormatException e) {
            return null;
        }
    }

    /** A cgroup's usage less its inactive file cache; {@code null} if the usage cannot be read. */
    private static Long usedBytes(Path level, String usageFile, String inactiveFileKey) {
        String usage = read(level.resolve(usageFile));
        if (usage == null) {
            return null;
        }
        try {
            long inactive = Math.max(0, statValue(level, inactiveFileKey));
            return Math.max(0, Long.parseLong(usage) - inactive);
        } catch (NumberFormatException e) {
            return null;
        }
    }

    /** A value of memory.stat, or -1. */
    private static long statValue(Path level, String key) {
        for (String line : lines(level.resolve("memory.stat"))) {
            if (line.startsWith(key + " ")) {
                try {
                    return Long.parseLong(line.substring(key.length() + 1).trim());
                } catch (NumberFormatException e) {
                    return -1;
                }
            }
        }
        return -1;
    }

    private static String parentPath(String path) {
        int slash = path.lastIndexOf('/');
        return slash <= 0 ? "/" : path.substring(0, slash);
    }

    private Usage fromMeminfo() {
        long total = -1;
        long available = -1;
        for (String line : lines(root.resolve("proc/meminfo"))) {
            if (line.startsWith("MemTotal:")) {
                total = kib(line) * 1024;
            } else if (line.startsWith("MemAvailable:")) {
                available = kib(line) * 1024;
            }
        }
        return total > 0 && available >= 0 ? new Usage(total - available, total, "/proc/meminfo") : null;
    }

    private static long kib(String line) {
        String digits = line.replaceAll("[^0-9]", "");
        return digits.isEmpty() ? 0 : Long.parseLong(digits);
    }

    private static List<String> lines(Path path) {
        try {
            return Files.readAllLines(path);
        } catch (IOException | RuntimeException e) {
            return List.of();
        }
    }

    private static String read(Path path) {
        try {
            return Files.readString(path).trim();
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }
}
