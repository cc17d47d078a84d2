package dev.procpool.core.internal.supervise;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The probe against made-up /proc and /sys trees: cgroup v1, v2, hybrid, containers, none. */
class MemoryProbeTest {
    private static final long MIB = 1L << 20;
    private static final long GIB = 1L << 30;
    /** What an unlimited cgroup v1 reports. */
    private static final String V1_UNLIMITED = "9223372036854771712";

    private static final String V1_MOUNTS = """
            31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
            32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
            35 31 0:32 / /sys/fs/cgroup/memory rw,relatime shared:12 - cgroup cgroup rw,memory
            40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
            """;
    private static final String HYBRID_MOUNTS = V1_MOUNTS
            + "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n";
    private static final String V2_MOUNTS = """
            25 20 0:22 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate
            """;

    @TempDir
    Path root;

    private void write(String path, String text) {
        try {
            Path file = root.resolve(path);
            Files.createDirectories(file.getParent());
            Files.writeString(file, text);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A machine with 8 GiB of which 2 GiB are in use. */
    private void meminfo() {
        write("proc/meminfo", "MemTotal:        8388608 kB\nMemFree:         1000000 kB\n"
                + "MemAvailable:    6291456 kB\n");
    }

    private void v1Level(String dir, String limit, long usage, long inactiveFile) {
        write(dir + "/memory.limit_in_bytes", limit + "\n");
        write(dir + "/memory.usage_in_bytes", usage + "\n");
        write(dir + "/memory.stat", "cache 1000\nrss 2000\nhierarchical_memory_limit " + limit + "\n"
                + "total_inactive_file " + inactiveFile + "\ntotal_active_file 5\n");
    }

    private void v2Level(String dir, String max, long current, long inactiveFile) {
        write(dir + "/memory.max", max + "\n");
        write(dir + "/memory.current", current + "\n");
        write(dir + "/memory.stat", "anon 1000\nfile 2000\ninactive_file " + inactiveFile + "\nactive_file 7\n");
    }

    /** This machine's layout: the memory controller on v1, the pool in a child cgroup with its own limit. */
    private void v1Machine() {
        meminfo();
        write("proc/self/mountinfo", V1_MOUNTS);
        write("proc/self/cgroup", "9:name=systemd:/\n4:memory:/process_api/abc\n1:cpu:/\n0::/\n");
        // the top level: no limit, and far more in use than the pool's cgroup (what the old probe read)
        v1Level("sys/fs/cgroup/memory", V1_UNLIMITED, 7 * GIB, 0);
        write("sys/fs/cgroup/memory/memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 9\n");
        v1Level("sys/fs/cgroup/memory/process_api", V1_UNLIMITED, 3 * GIB, 0);
        v1Level("sys/fs/cgroup/memory/process_api/abc", Long.toString(512 * MIB), 300 * MIB, 100 * MIB);
        write("sys/fs/cgroup/memory/process_api/abc/memory.oom_control",
                "oom_kill_disable 0\nunder_oom 0\noom_kill 2\n");
        write("sys/fs/cgroup/memory/process_api/abc/memory.failcnt", "17\n");
    }

    @Test
    void cgroup_v1_reads_the_pools_own_cgroup_less_its_inactive_file_cache() {
        v1Machine();
        MemoryProbe probe = new MemoryProbe(root);

        MemoryProbe.Usage usage = probe.usage();

        assertEquals(200 * MIB, usage.usedBytes(), "300 MiB in use less 100 MiB of inactive file cache");
        assertEquals(512 * MIB, usage.limitBytes());
        assertEquals("cgroup v1 /process_api/abc", usage.source());
        assertEquals("200 MiB of 512 MiB (39 %) from cgroup v1 /process_api/abc", usage.toString());
        assertEquals(2, probe.oomKills(), "the pool's cgroup, not the top level's 9");
        assertTrue(probe.cgroupDescription().startsWith("cgroup v1 /process_api/abc at "), probe.cgroupDescription());
    }

    @Test
    void cgroup_v1_without_an_oom_kill_count_is_unknown_even_with_failures_to_charge() {
        v1Machine();
        write("sys/fs/cgroup/memory/process_api/abc/memory.oom_control", "oom_kill_disable 0\nunder_oom 0\n");

        assertEquals(-1, new MemoryProbe(root).oomKills(), "a kernel before 4.13; failcnt is not a kill count");
    }

    @Test
    void cgroup_v1_a_parents_limit_binds_when_it_leaves_less_room() {
        v1Machine();
        v1Level("sys/fs/cgroup/memory/process_api/abc", V1_UNLIMITED, 300 * MIB, 0);
        v1Level("sys/fs/cgroup/memory/process_api", Long.toString(GIB), 900 * MIB, 0);

        MemoryProbe.Usage usage = new MemoryProbe(root).usage();

        assertEquals(900 * MIB, usage.usedBytes());
        assertEquals(GIB, usage.limitBytes());
        assertEquals("cgroup v1 /process_api", usage.source());
    }

    @Test
    void cgroup_v1_in_a_container_where_the_mount_shows_only_its_own_cgroup() {
        meminfo();
        write("proc/self/mountinfo", "35 31 0:32 /docker/c0ffee /sys/fs/cgroup/memory ro,nosuid - cgroup cgroup "
                + "rw,memory\n");
        write("proc/self/cgroup", "4:memory:/docker/c0ffee\n");
        v1Level("sys/fs/cgroup/memory", Long.toString(GIB), 100 * MIB, 0);
        write("sys/fs/cgroup/memory/memory.oom_control", "oom_kill 4\n");

        MemoryProbe probe = new MemoryProbe(root);

        assertEquals(GIB, probe.usage().limitBytes());
        assertEquals(100 * MIB, probe.usage().usedBytes());
        assertEquals(4, probe.oomKills());
    }

    @Test
    void cgroup_v1_a_limit_above_what_is_mounted_shows_as_the_hierarchical_limit() {
        meminfo();
        write("proc/self/mountinfo", "35 31 0:32 /docker/c0ffee /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n");
        write("proc/self/cgroup", "4:memory:/docker/c0ffee\n");
        v1Level("sys/fs/cgroup/memory", V1_UNLIMITED, 100 * MIB, 0);
        write("sys/fs/cgroup/memory/memory.stat", "hierarchical_memory_limit " + (2 * GIB) + "\n");

        MemoryProbe.Usage usage = new MemoryProbe(root).usage();

        assertEquals(2 * GIB, usage.limitBytes());
        assertEquals(100 * MIB, usage.usedBytes());
    }

    @Test
    void cgroup_v2_reads_the_pools_own_cgroup_and_its_oom_kills() {
        meminfo();
        write("proc/self/mountinfo", V2_MOUNTS);
        write("proc/self/cgroup", "0::/system.slice/app.service\n");
        // the root of a v2 hierarchy has no memory.max nor memory.current
        write("sys/fs/cgroup/memory.stat", "anon 1\n");
        write("sys/fs/cgroup/system.slice/memory.max", "max\n");
        v2Level("sys/fs/cgroup/system.slice/app.service", Long.toString(GIB), 600 * MIB, 88 * MIB);
        write("sys/fs/cgroup/system.slice/app.service/memory.events",
                "low 0\nhigh 0\nmax 12\noom 3\noom_kill 3\noom_group_kill 0\n");

        MemoryProbe probe = new MemoryProbe(root);
        MemoryProbe.Usage usage = probe.usage();

        assertEquals(512 * MIB, usage.usedBytes());
        assertEquals(GIB, usage.limitBytes());
        assertEquals("cgroup v2 /system.slice/app.service", usage.source());
        assertEquals(3, probe.oomKills());
    }

    @Test
    void cgroup_v2_a_parents_limit_binds_when_its_own_is_max() {
        meminfo();
        write("proc/self/mountinfo", V2_MOUNTS);
        write("proc/self/cgroup", "0::/user.slice/app\n");
        v2Level("sys/fs/cgroup/user.slice", Long.toString(2 * GIB), 1800 * MIB, 0);
        v2Level("sys/fs/cgroup/user.slice/app", "max", 100 * MIB, 0);
        write("sys/fs/cgroup/user.slice/app/memory.events", "oom_kill 0\n");

        MemoryProbe probe = new MemoryProbe(root);

        assertEquals(2 * GIB, probe.usage().limitBytes());
        assertEquals(1800 * MIB, probe.usage().usedBytes());
        assertEquals("cgroup v2 /user.slice", probe.usage().source());
        assertEquals(0, probe.oomKills());
    }

    @Test
    void hybrid_reads_the_memory_controller_on_v1_not_the_unified_hierarchy() {
        v1Machine();
        write("proc/self/mountinfo", HYBRID_MOUNTS);
        // the unified hierarchy has cgroup files but no memory controller
        write("sys/fs/cgroup/unified/cgroup.controllers", "\n");
        write("sys/fs/cgroup/unified/cgroup.procs", "1\n");

        MemoryProbe probe = new MemoryProbe(root);

        assertEquals("cgroup v1 /process_api/abc", probe.usage().source());
        assertEquals(2, probe.oomKills());
    }

    @Test
    void hybrid_with_the_memory_controller_on_v2() {
        meminfo();
        write("proc/self/mountinfo", """
                31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
                32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
                41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
                """);
        write("proc/self/cgroup", "1:cpu:/\n0::/app\n");
        v2Level("sys/fs/cgroup/unified/app", Long.toString(GIB), 10 * MIB, 0);
        write("sys/fs/cgroup/unified/app/memory.events", "oom_kill 5\n");

        MemoryProbe probe = new MemoryProbe(root);

        assertEquals("cgroup v2 /app", probe.usage().source());
        assertEquals(5, probe.oomKills());
    }

    @Test
    void a_mount_point_with_a_space_is_unescaped() {
        meminfo();
        write("proc/self/mountinfo", "35 31 0:32 / /sys/fs/cg\\040roup/memory rw - cgroup cgroup rw,memory\n");
        write("proc/self/cgroup", "4:memory:/a\n");
        v1Level("sys/fs/cg roup/memory/a", Long.toString(GIB), MIB, 0);

        assertEquals("cgroup v1 /a", new MemoryProbe(root).usage().source());
    }

    @Test
    void without_a_limited_cgroup_the_machines_memory_is_the_limit() {
        v1Machine();
        v1Level("sys/fs/cgroup/memory/process_api/abc", V1_UNLIMITED, 300 * MIB, 0);

        MemoryProbe.Usage usage = new MemoryProbe(root).usage();

        assertEquals("/proc/meminfo", usage.source());
        assertEquals(8 * GIB, usage.limitBytes());
        assertEquals(2 * GIB, usage.usedBytes());
    }

    @Test
    void a_cgroup_limit_above_the_machines_memory_does_not_count() {
        v1Machine();
        v1Level("sys/fs/cgroup/memory/process_api/abc", Long.toString(64 * GIB), 300 * MIB, 0);

        assertEquals("/proc/meminfo", new MemoryProbe(root).usage().source());
    }

    @Test
    void without_cgroups_only_meminfo_is_read_and_oom_kills_are_unknown() {
        meminfo();
        MemoryProbe probe = new MemoryProbe(root);

        assertEquals("/proc/meminfo", probe.usage().source());
        assertEquals(-1, probe.oomKills());
        assertEquals("none", probe.cgroupDescription());
    }

    @Test
    void with_nothing_readable_there_is_no_usage() {
        MemoryProbe probe = new MemoryProbe(root);

        assertNull(probe.usage());
        assertEquals(-1, probe.oomKills());
        assertEquals(0, probe.residentBytes(42));
        assertEquals("", probe.processStatus(42));
    }

    @Test
    void a_cgroup_path_outside_the_mount_falls_back_to_the_mount_point() {
        meminfo();
        write("proc/self/mountinfo", "35 31 0:32 /docker/c0ffee /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n");
        write("proc/self/cgroup", "4:memory:/../../elsewhere\n");
        v1Level("sys/fs/cgroup/memory", Long.toString(GIB), 5 * MIB, 0);

        assertEquals(GIB, new MemoryProbe(root).usage().limitBytes());
    }

    @Test
    void resident_set_size_and_status_of_a_process() {
        write("proc/4242/status", "Name:\tjava\nState:\tS (sleeping)\nVmRSS:\t   51200 kB\n");
        MemoryProbe probe = new MemoryProbe(root);

        assertEquals(51200L * 1024, probe.residentBytes(4242));
        assertTrue(probe.processStatus(4242).contains("State:\tS (sleeping)"));
    }
}
