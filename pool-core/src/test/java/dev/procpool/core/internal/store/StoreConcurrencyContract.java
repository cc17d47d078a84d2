package dev.procpool.core.internal.store;

import org.junit.jupiter.api.Test;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import static dev.procpool.core.internal.store.Tasks.task;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Several hosts at once on one store: inserts, claims and migrations that race. */
interface StoreConcurrencyContract extends StoreFixture {

    /** The dialect of these settings, to lay out an old schema by hand. */
    Dialect dialect(StoreSettings settings);

    private static <T> List<T> all(List<Future<T>> futures) throws Exception {
        List<T> results = new ArrayList<>();
        for (Future<T> future : futures) {
            results.add(future.get(120, TimeUnit.SECONDS));
        }
        return results;
    }

    @Test
    default void hostsInsertingTheSameIdsAtOnceMakeOneTaskEach() throws Exception {
        List<JdbcTaskStore> hosts = List.of(open("a"), open("b"));
        int n = 400;
        ExecutorService threads = Executors.newFixedThreadPool(4);
        try {
            List<Future<List<InsertResult>>> inserts = new ArrayList<>();
            for (int t = 0; t < 4; t++) {
                JdbcTaskStore host = hosts.get(t % 2);
                long seed = t;
                inserts.add(threads.submit(() -> {
                    List<NewTask> tasks = new ArrayList<>();
                    for (int i = 0; i < n; i++) {
                        tasks.add(task("same-" + i));
                    }
                    Collections.shuffle(tasks, new Random(seed));
                    List<InsertResult> results = new ArrayList<>();
                    for (int from = 0; from < n; from += 7) { // small batches, so that they interleave
                        results.addAll(host.insert(tasks.subList(from, Math.min(n, from + 7))));
                    }
                    return results;
                }));
            }
            Map<String, Integer> created = new ConcurrentHashMap<>();
            for (List<InsertResult> results : all(inserts)) {
                results.stream().filter(InsertResult::created).forEach(r -> created.merge(r.id(), 1, Integer::sum));
            }
            assertEquals(n, created.size());
            assertTrue(created.values().stream().allMatch(count -> count == 1), "one creation per id");
            assertEquals(n, number("SELECT COUNT(*) FROM " + table("task")));
        } finally {
            threads.shutdownNow();
        }
    }

    @Test
    default void anIdInsertedAgainWhileItsTaskEndsIsNeverASecondTask() throws Exception {
        JdbcTaskStore runner = open("runner");
        List<JdbcTaskStore> submitters = List.of(open("s1"), open("s2"));
        int n = 300;
        List<NewTask> tasks = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            tasks.add(task("race-" + i));
        }
        runner.insert(tasks);
        AtomicBoolean done = new AtomicBoolean();
        AtomicInteger createdAgain = new AtomicInteger();
        ExecutorService threads = Executors.newFixedThreadPool(3);
        try {
            List<Future<Object>> work = new ArrayList<>();
            for (JdbcTaskStore submitter : submitters) {
                work.add(threads.submit(() -> {
                    while (!done.get()) { // re-submit every id while the runner ends them
                        for (int from = 0; from < n; from += 10) {
                            submitter.insert(tasks.subList(from, from + 10)).stream().filter(InsertResult::created)
                                    .forEach(r -> createdAgain.incrementAndGet());
                        }
                    }
                    return null;
                }));
            }
            work.add(threads.submit(() -> {
                int ended = 0;
                while (ended < n) {
                    List<ClaimedTask> claimed = runner.claim(5, ServedWork.anything(), at(1)).tasks();
                    List<AttemptEnd> ends = claimed.stream().map(c -> Tasks.success(c, at(2))).toList();
                    ended += runner.record(ends).size();
                }
                done.set(true);
                return null;
            }));
            all(work);
        } finally {
            done.set(true);
            threads.shutdownNow();
        }
        assertEquals(0, createdAgain.get(), "no id was created a second time");
        assertEquals(0, number("SELECT COUNT(*) FROM " + table("task")));
        assertEquals(n, number("SELECT COUNT(*) FROM " + table("ended")));
    }

    @Test
    default void hostsClaimingAtOnceNeverGetTheSameTask() throws Exception {
        List<JdbcTaskStore> hosts = List.of(open("a"), open("b"), open("c"));
        int n = 2000;
        List<NewTask> tasks = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            tasks.add(task("c-" + i, i % 3));
        }
        hosts.get(0).insert(tasks);
        Set<String> seen = ConcurrentHashMap.newKeySet();
        AtomicInteger claims = new AtomicInteger();
        ExecutorService threads = Executors.newFixedThreadPool(6);
        try {
            List<Future<Object>> work = new ArrayList<>();
            for (int t = 0; t < 6; t++) {
                JdbcTaskStore host = hosts.get(t % 3);
                work.add(threads.submit(() -> {
                    List<ClaimedTask> claimed;
                    while (!(claimed = host.claim(8, ServedWork.anything(), at(1)).tasks()).isEmpty()) {
                        for (ClaimedTask c : claimed) {
                            claims.incrementAndGet();
                            if (!seen.add(c.id())) {
                                throw new AssertionError("claimed twice: " + c.id());
                            }
                        }
                        host.record(claimed.stream().map(c -> Tasks.success(c, at(2))).toList());
                    }
                    return null;
                }));
            }
            all(work);
        } finally {
            threads.shutdownNow();
        }
        assertEquals(n, seen.size());
        assertEquals(n, claims.get());
        assertEquals(n, number("SELECT COUNT(*) FROM " + table("ended") + " WHERE attempt = 1"));
    }

    @Test
    default void hostsStartingAtOnceMigrateOnce() throws Exception {
        int hosts = 4;
        List<JdbcTaskStore> stores = new ArrayList<>();
        for (int i = 0; i < hosts; i++) {
            stores.add(build("h" + i, settings()));
        }
        CountDownLatch start = new CountDownLatch(1);
        ExecutorService threads = Executors.newFixedThreadPool(hosts);
        try {
            List<Future<Object>> opens = new ArrayList<>();
            for (JdbcTaskStore store : stores) {
                opens.add(threads.submit(() -> {
                    start.await();
                    store.open(StoreEvents.NONE);
                    return null;
                }));
            }
            start.countDown();
            all(opens);
        } finally {
            threads.shutdownNow();
        }
        assertEquals(2, number("SELECT COUNT(*) FROM " + table("schema_version")));
        assertEquals(3, number("SELECT SUM(version) FROM " + table("schema_version")));
        assertEquals(hosts, stores.get(0).hosts().size());
    }

    @Test
    default void aStoreOfTheFirstSchemaVersionIsMigratedWithItsRows() throws Exception {
        StoreSettings settings = settings().build();
        Dialect dialect = dialect(settings);
        try (Connection c = raw()) {
            Migrations.migrate(dialect, c, 1, "old-host", T0.toEpochMilli());
            if (!c.getAutoCommit()) {
                c.commit();
            }
            c.setAutoCommit(true);
            try (PreparedStatement insert = c.prepareStatement("INSERT INTO " + table("task") + " (pool, id, type, "
                    + "caps, payload, priority, rank, not_before, timeout_ms, retry_policy, affinity_key, "
                    + "submitted_at, state) VALUES (?, 'old-queued', 'echo', NULL, '1', 10, 10, ?, NULL, ?, NULL, ?, "
                    + "'QUEUED')")) {
                insert.setString(1, pool());
                insert.setLong(2, T0.toEpochMilli());
                insert.setString(3, StoreJson.retryPolicy(dev.procpool.RetryPolicy.defaults()));
                insert.setLong(4, T0.toEpochMilli());
                insert.executeUpdate();
            }
            try (PreparedStatement ended = c.prepareStatement("INSERT INTO " + table("ended") + " (pool, id, seq, "
                    + "type, caps, payload, priority, rank, timeout_ms, retry_policy, affinity_key, submitted_at, "
                    + "attempt, state, result, reason, message, final_token, ended_at, expires_at) VALUES (?, "
                    + "'old-done', 99, 'echo', NULL, '1', 10, 10, NULL, ?, NULL, ?, 1, 'SUCCEEDED', '42', NULL, '', 7, "
                    + "?, ?)")) {
                ended.setString(1, pool());
                ended.setString(2, StoreJson.retryPolicy(dev.procpool.RetryPolicy.defaults()));
                ended.setLong(3, T0.toEpochMilli());
                ended.setLong(4, T0.toEpochMilli());
                ended.setLong(5, T0.plus(Duration.ofDays(1)).toEpochMilli());
                ended.executeUpdate();
            }
            try (PreparedStatement host = c.prepareStatement("INSERT INTO " + table("host") + " (pool, name, pid, "
                    + "started_at, last_seen) VALUES (?, 'old-host', 1, ?, ?)")) {
                host.setString(1, pool());
                host.setLong(2, T0.toEpochMilli());
                host.setLong(3, T0.toEpochMilli());
                host.executeUpdate();
            }
        }
        assertEquals(1, number("SELECT MAX(version) FROM " + table("schema_version")));

        JdbcTaskStore store = open("new-host");
        assertEquals(2, number("SELECT MAX(version) FROM " + table("schema_version")));
        assertEquals("old-queued", store.claim(1, ServedWork.anything(), at(1)).tasks().get(0).id());
        StoredTask done = store.find("old-done").orElseThrow();
        assertEquals("42", done.resultJson());
        assertNull(done.finalHost(), "not recorded by version 1");
        HostRecord old = store.hosts().stream().filter(h -> h.name().equals("old-host")).findFirst().orElseThrow();
        assertNull(old.machine());
        assertNull(old.stoppedAt());
    }

    @Test
    default void aSchemaNewerThanThisCodeIsRefused() {
        open("first").close();
        update("INSERT INTO " + table("schema_version") + " (version, applied_at, applied_by) VALUES (3, 0, 'next')");
        IllegalStateException refused = assertThrows(IllegalStateException.class, () -> open("second"));
        assertTrue(refused.getMessage().contains("is at version 3, newer than this procpool knows (2)"),
                refused.getMessage());
    }
}
