package dev.procpool.examples.bench;

import dev.procpool.PoolConfig;
import dev.procpool.TaskHandle;
import dev.procpool.WorkerGroup;
import dev.procpool.WorkerPool;
import dev.procpool.WorkerSnapshot;
import dev.procpool.WorkerSpec;

import javax.management.ObjectName;
import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * What the host spends per task on the W2 path (2 workers, 100-character echo tasks all submitted before any is
 * awaited), in figures a loaded machine does not disturb: bytes the host allocates per task (summed over every
 * thread of the host JVM) and objects the host keeps alive per queued task (a class histogram taken while the
 * workers are stopped with SIGSTOP and the tasks wait in the queue). Host CPU, GC time and tasks/s are printed too,
 * but those move with the machine's load: compare them only between builds alternated in one session.
 *
 * <pre>mvn -pl pool-examples exec:exec -Dexample.main=dev.procpool.examples.bench.HostCostProbe \
 *     -Dexample.args="--rounds 5 --tasks 200000"</pre>
 */
public final class HostCostProbe {
    private HostCostProbe() {
    }

    public static void main(String[] args) throws Exception {
        int rounds = 5;
        int tasks = 200_000;
        int warmup = 20_000;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--rounds" -> rounds = Integer.parseInt(args[++i]);
                case "--tasks" -> tasks = Integer.parseInt(args[++i]);
                case "--warmup" -> warmup = Integer.parseInt(args[++i]);
                default -> throw new IllegalArgumentException("unknown option " + args[i]
                        + "; allowed: --rounds N, --tasks N, --warmup N");
            }
        }
        String payload = BenchHandler.payload100();
        WorkerGroup group = WorkerGroup.builder(PoolConfig.DEFAULT_GROUP, WorkerSpec.java(BenchHandler.class))
                .workers(2).build();
        try (WorkerPool pool = WorkerPool.builder().name("probe").group(group).queueCapacity(tasks + warmup)
                .start()) {
            batch(pool, payload, warmup);
            batch(pool, payload, warmup);
            com.sun.management.ThreadMXBean threads =
                    (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
            com.sun.management.OperatingSystemMXBean os =
                    (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
            for (int round = 1; round <= rounds; round++) {
                Map<Long, Long> bytes0 = allocated(threads);
                long cpu0 = os.getProcessCpuTime();
                long gc0 = gcMillis();
                long start = System.nanoTime();
                batch(pool, payload, tasks);
                long elapsed = System.nanoTime() - start;
                long cpu = os.getProcessCpuTime() - cpu0;
                long gc = gcMillis() - gc0;
                long bytes = 0;
                for (Map.Entry<Long, Long> e : allocated(threads).entrySet()) {
                    bytes += e.getValue() - bytes0.getOrDefault(e.getKey(), 0L);
                }
                System.out.printf(Locale.ROOT, "round %d: %,.0f bytes allocated per task, host CPU %.2f µs per task,"
                                + " GC %d ms, %,.0f tasks/s%n", round, (double) bytes / tasks, cpu / 1e3 / tasks,
                        gc, tasks / (elapsed / 1e9));
            }
            queuedObjects(pool, payload, tasks);
        }
    }

    /** Objects and bytes the host holds per queued task: workers stopped, tasks queued, histogram against before. */
    private static void queuedObjects(WorkerPool pool, String payload, int tasks) throws Exception {
        List<Long> pids = pool.workers().stream().map(WorkerSnapshot::pid).toList();
        Map<String, long[]> before = histogram();
        for (long pid : pids) {
            signal("STOP", pid);
        }
        List<TaskHandle> handles = new ArrayList<>(tasks);
        try {
            for (int i = 0; i < tasks; i++) {
                handles.add(pool.submitTask(BenchHandler.ECHO, payload));
            }
            Map<String, long[]> after = histogram();
            long objects = 0;
            long bytes = 0;
            List<Map.Entry<String, long[]>> grown = new ArrayList<>();
            for (Map.Entry<String, long[]> e : after.entrySet()) {
                long[] was = before.getOrDefault(e.getKey(), new long[2]);
                long[] diff = {e.getValue()[0] - was[0], e.getValue()[1] - was[1]};
                objects += diff[0];
                bytes += diff[1];
                if (diff[0] >= tasks / 2) {
                    grown.add(Map.entry(e.getKey(), diff));
                }
            }
            grown.sort((a, b) -> Long.compare(b.getValue()[1], a.getValue()[1]));
            System.out.printf(Locale.ROOT, "queued: %.2f objects, %.0f bytes per queued task (the %,d handles "
                    + "included)%n", (double) objects / tasks, (double) bytes / tasks, tasks);
            for (Map.Entry<String, long[]> e : grown) {
                System.out.printf(Locale.ROOT, "  %6.2f per task, %5.0f bytes  %s%n",
                        (double) e.getValue()[0] / tasks, (double) e.getValue()[1] / tasks, e.getKey());
            }
        } finally {
            for (long pid : pids) {
                signal("CONT", pid);
            }
        }
        for (TaskHandle handle : handles) {
            handle.join();
        }
    }

    private static Map<String, long[]> histogram() throws Exception {
        String text = (String) ManagementFactory.getPlatformMBeanServer().invoke(
                new ObjectName("com.sun.management:type=DiagnosticCommand"), "gcClassHistogram",
                new Object[] {new String[0]}, new String[] {String[].class.getName()});
        Map<String, long[]> classes = new HashMap<>();
        for (String line : text.split("\n")) {
            String[] f = line.trim().split("\\s+");
            if (f.length >= 4 && f[0].endsWith(":")) {
                classes.put(f[3], new long[] {Long.parseLong(f[1]), Long.parseLong(f[2])});
            }
        }
        return classes;
    }

    private static void signal(String signal, long pid) throws Exception {
        new ProcessBuilder("kill", "-" + signal, Long.toString(pid)).inheritIO().start().waitFor();
    }

    private static Map<Long, Long> allocated(com.sun.management.ThreadMXBean threads) {
        long[] ids = threads.getAllThreadIds();
        long[] bytes = threads.getThreadAllocatedBytes(ids);
        Map<Long, Long> byThread = new HashMap<>();
        for (int i = 0; i < ids.length; i++) {
            if (bytes[i] >= 0) {
                byThread.put(ids[i], bytes[i]);
            }
        }
        return byThread;
    }

    private static long gcMillis() {
        long total = 0;
        for (GarbageCollectorMXBean gc : ManagementFactory.getGarbageCollectorMXBeans()) {
            total += Math.max(0, gc.getCollectionTime());
        }
        return total;
    }

    private static void batch(WorkerPool pool, String payload, int n) {
        List<TaskHandle> handles = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            handles.add(pool.submitTask(BenchHandler.ECHO, payload));
        }
        for (TaskHandle handle : handles) {
            handle.join();
        }
    }
}
