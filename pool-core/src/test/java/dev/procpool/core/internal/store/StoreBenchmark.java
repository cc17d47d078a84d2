package dev.procpool.core.internal.store;

import dev.procpool.TaskStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;

/**
 * Store-level throughput, run by hand (not part of the suite): inserts per second with group commit against one
 * transaction per task, claim + record cycles per second for trivial tasks, and the whole store lifecycle
 * (insert, claim, record) with submitters and an engine loop at once, on SQLite (FULL and NORMAL sync) and an
 * embedded PostgreSQL with synchronous commits.
 *
 * <p>{@code java -cp <test class path> dev.procpool.core.internal.store.StoreBenchmark [runs] [seconds]}; for a
 * diagnosis, {@code -Dbench.only=cycles2} or {@code -Dbench.only=lifecycle} runs one scenario, and {@code -Dpg.slow=30}
 * makes PostgreSQL log statements slower than 30 ms (with {@code -Dorg.slf4j.simpleLogger.log.io.zonky=info}).
 */
public final class StoreBenchmark {
    private static final AtomicInteger IDS = new AtomicInteger();
    private static int prefixes;

    private StoreBenchmark() {
    }

    public static void main(String[] args) throws Exception {
        int runs = args.length > 0 ? Integer.parseInt(args[0]) : 3;
        double seconds = args.length > 1 ? Double.parseDouble(args[1]) : 3;
        System.out.printf(Locale.ROOT, "machine: %d cores, java %s; %d runs of %.1f s each; median [min-max]%n",
                Runtime.getRuntime().availableProcessors(), System.getProperty("java.version"), runs, seconds);
        Path folder = Files.createTempDirectory("procpool-bench");
        for (TaskStore.Durable.SqliteSync sync : TaskStore.Durable.SqliteSync.values()) {
            int[] n = {0};
            Supplier<JdbcTaskStore> stores = () -> open(TaskStores.sqlite(folder.resolve(sync + "-" + (n[0]++) + ".db"))
                    .settings(settings().sqliteSync(sync).build()));
            suite("SQLite synchronous=" + sync, stores, runs, seconds);
        }
        try (EmbeddedPg pg = EmbeddedPg.start()) {
            try (Connection c = pg.dataSource().getConnection(); Statement s = c.createStatement()) {
                for (String setting : List.of("fsync", "synchronous_commit", "wal_sync_method")) {
                    try (ResultSet rows = s.executeQuery("SHOW " + setting)) {
                        rows.next();
                        System.out.println("PostgreSQL " + setting + " = " + rows.getString(1));
                    }
                }
            }
            Supplier<JdbcTaskStore> stores = () -> open(TaskStores.postgres(pg.dataSource())
                    .settings(settings().tablePrefix("b" + (prefixes++) + "_").build()));
            suite("PostgreSQL 14 (embedded)", stores, runs, seconds);
        }
    }

    private static StoreSettings.Builder settings() {
        return StoreSettings.builder();
    }

    private static JdbcTaskStore open(TaskStores.Builder builder) {
        JdbcTaskStore store = builder.pool("bench").build();
        store.open(StoreEvents.NONE);
        return store;
    }

    private static void suite(String name, Supplier<JdbcTaskStore> stores, int runs, double seconds)
            throws Exception {
        System.out.println("== " + name);
        String only = System.getProperty("bench.only");
        if (only != null) {
            report(only, runs, () -> only.equals("cycles2") ? cycles(stores, 2, true, seconds)
                    : lifecycle(stores, 16, seconds));
            return;
        }
        report("insert, 1 caller, 1 task per call (a transaction per task)", runs,
                () -> inserts(stores, 1, 1, seconds));
        report("insert, 16 callers, 1 task per call (group commit)", runs, () -> inserts(stores, 16, 1, seconds));
        report("insert, 64 callers, 1 task per call (group commit)", runs, () -> inserts(stores, 64, 1, seconds));
        report("insert, 1 caller, 100 tasks per call (submitAll)", runs, () -> inserts(stores, 1, 100, seconds));
        report("claim 64 + record, 1 engine loop, record waited for", runs, () -> cycles(stores, 1, false, seconds));
        report("claim 64 + record, 1 engine loop, record async", runs, () -> cycles(stores, 1, true, seconds));
        report("claim 64 + record, 2 engine loops, record async", runs, () -> cycles(stores, 2, true, seconds));
        report("lifecycle: 16 submitters + 1 engine loop, record async (ended/s)", runs,
                () -> lifecycle(stores, 16, seconds));
    }

    private interface Measure {
        double run() throws Exception;
    }

    private static void report(String what, int runs, Measure measure) throws Exception {
        double[] rates = new double[runs];
        for (int i = 0; i < runs; i++) {
            rates[i] = measure.run();
        }
        Arrays.sort(rates);
        System.out.printf(Locale.ROOT, "  %-62s %9.0f /s  [%.0f-%.0f]%n", what, rates[runs / 2], rates[0],
                rates[runs - 1]);
    }

    private static NewTask task() {
        Instant now = Instant.now();
        return new NewTask("b-" + IDS.incrementAndGet(), "echo", java.util.Set.of(), "{\"n\":1}", 10, 10, now, null,
                dev.procpool.RetryPolicy.defaults(), null, now);
    }

    private static double inserts(Supplier<JdbcTaskStore> stores, int callers, int perCall, double seconds)
            throws Exception {
        try (JdbcTaskStore store = stores.get()) {
            AtomicLong done = new AtomicLong();
            long nanos = run(callers, seconds, () -> {
                List<NewTask> tasks = new ArrayList<>(perCall);
                for (int i = 0; i < perCall; i++) {
                    tasks.add(task());
                }
                store.insert(tasks);
                done.addAndGet(perCall);
                return true;
            });
            return done.get() * 1e9 / nanos;
        }
    }

    private static double cycles(Supplier<JdbcTaskStore> stores, int loops, boolean async, double seconds)
            throws Exception {
        try (JdbcTaskStore store = stores.get()) {
            int ready = (int) Math.min(400_000, 60_000 * seconds * loops);
            List<NewTask> tasks = new ArrayList<>();
            for (int i = 0; i < ready; i++) {
                tasks.add(task());
                if (tasks.size() == 5000) {
                    store.insert(tasks);
                    tasks.clear();
                }
            }
            AtomicLong done = new AtomicLong();
            AtomicLong claimedTotal = new AtomicLong();
            long start = System.nanoTime();
            run(loops, seconds, () -> {
                List<ClaimedTask> claimed = store.claim(64, ServedWork.anything(), Instant.now()).tasks();
                if (claimed.isEmpty()) {
                    return false; // all queued tasks claimed: the time so far is the measurement
                }
                claimedTotal.addAndGet(claimed.size());
                Instant now = Instant.now();
                List<AttemptEnd> ends = claimed.stream().map(c -> AttemptEnd.succeeded(c.lease(), "1", "w", 1,
                        Duration.ZERO, now)).toList();
                if (async) { // as an engine would: the next claim shares the record's commit
                    store.recordAsync(ends).thenRun(() -> done.addAndGet(ends.size()));
                } else {
                    store.record(ends);
                    done.addAndGet(claimed.size());
                }
                return true;
            });
            while (done.get() < claimedTotal.get()) { // until the last record committed
                Thread.sleep(1);
            }
            long nanos = System.nanoTime() - start;
            return done.get() * 1e9 / nanos;
        }
    }

    private static double lifecycle(Supplier<JdbcTaskStore> stores, int submitters, double seconds)
            throws Exception {
        try (JdbcTaskStore store = stores.get()) {
            AtomicLong ended = new AtomicLong();
            AtomicInteger role = new AtomicInteger();
            long nanos = run(submitters + 1, seconds, () -> {
                if (role.get() < 0 || Thread.currentThread().getName().endsWith("-0")) {
                    List<ClaimedTask> claimed = store.claim(64, ServedWork.anything(), Instant.now()).tasks();
                    if (!claimed.isEmpty()) {
                        Instant now = Instant.now();
                        store.recordAsync(claimed.stream().map(c -> AttemptEnd.succeeded(c.lease(), "1", "w", 1,
                                Duration.ZERO, now)).toList()).thenRun(() -> ended.addAndGet(claimed.size()));
                    }
                } else {
                    store.insert(List.of(task()));
                }
                return true;
            });
            return ended.get() * 1e9 / nanos;
        }
    }

    /**
     * Runs {@code body} in a loop on {@code threads} threads (named ...-0, ...-1) for the given time, or until one
     * returns false; returns the time taken, up to the moment the last record committed.
     */
    private static long run(int threads, double seconds, Body body) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(threads, new java.util.concurrent.ThreadFactory() {
            private final AtomicInteger n = new AtomicInteger();

            @Override
            public Thread newThread(Runnable r) {
                return new Thread(r, "bench-" + n.getAndIncrement());
            }
        });
        AtomicBoolean stop = new AtomicBoolean();
        List<Future<Object>> futures = new ArrayList<>();
        long start = System.nanoTime();
        for (int i = 0; i < threads; i++) {
            futures.add(pool.submit(() -> {
                while (!stop.get()) {
                    if (!body.run()) {
                        stop.set(true);
                    }
                }
                return null;
            }));
        }
        long deadline = start + (long) (seconds * 1e9);
        while (!stop.get() && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        stop.set(true);
        for (Future<Object> future : futures) {
            future.get();
        }
        long nanos = System.nanoTime() - start;
        pool.shutdown();
        return nanos;
    }

    private interface Body {
        /** One step; false when there is nothing left to do. */
        boolean run() throws Exception;
    }
}
