package dev.procpool.core.it;

import dev.procpool.FailureReason;
import dev.procpool.PoolEvent;
import dev.procpool.PoolSnapshot;
import dev.procpool.RestartPolicy;
import dev.procpool.RetryPolicy;
import dev.procpool.TaskHandle;
import dev.procpool.TaskState;
import dev.procpool.WorkerGroup;
import dev.procpool.WorkerPool;
import dev.procpool.WorkerSnapshot;
import dev.procpool.core.metrics.PoolMetrics;
import dev.procpool.core.testing.EventLog;
import dev.procpool.core.testing.FaultInjectionHandler;
import dev.procpool.core.testing.ProcessLeakCheck;
import dev.procpool.core.testing.TestPools;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The Micrometer binder against real worker processes and real faults: after crashes and handler errors, a
 * Prometheus scrape's counters by reason agree with the pool's snapshot and with the events a listener received.
 */
class MetricsIT {

    private static Map<String, Object> fault(String fault, Object... more) {
        Map<String, Object> payload = new HashMap<>();
        payload.put("fault", fault);
        for (int i = 0; i < more.length; i += 2) {
            payload.put((String) more[i], more[i + 1]);
        }
        return payload;
    }

    @Test
    void afterCrashesAndHandlerErrorsTheScrapeAgreesWithTheSnapshotAndTheEvents() {
        ProcessLeakCheck leaks = ProcessLeakCheck.start();
        EventLog events = new EventLog();
        PrometheusMeterRegistry prometheus = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        PoolMetrics metrics = new PoolMetrics(io.micrometer.core.instrument.Tags.empty(), Duration.ZERO);
        metrics.bindTo(prometheus); // before start: the first workers' start-up is timed too
        try (metrics; WorkerPool pool = WorkerPool.builder().name("metrics-it")
                .group(WorkerGroup.builder("faulty", TestPools.javaWorker(FaultInjectionHandler.class)).workers(2)
                        .build())
                .heartbeatInterval(Duration.ofMillis(200)).heartbeatTimeout(Duration.ofSeconds(2))
                .stopGracePeriod(Duration.ofSeconds(1))
                .restartPolicy(RestartPolicy.builder().initialDelay(Duration.ofMillis(20))
                        .maxDelay(Duration.ofMillis(200)).maxRestarts(50).window(Duration.ofSeconds(60)).build())
                // crashes are retried once (the default retryOn); handler errors are not
                .retryPolicy(RetryPolicy.builder().maxAttempts(2).initialDelay(Duration.ofMillis(20)).build())
                .listener(events)
                .tracker(metrics)
                .start()) {

            List<TaskHandle> fine = new ArrayList<>();
            List<TaskHandle> poisoned = new ArrayList<>();
            List<TaskHandle> failing = new ArrayList<>();
            for (int i = 0; i < 20; i++) {
                fine.add(pool.submitTask(FaultInjectionHandler.TASK_TYPE, fault("none")));
                if (i % 10 == 0) {
                    poisoned.add(pool.submitTask(FaultInjectionHandler.TASK_TYPE, fault("crash", "code", 3)));
                }
                if (i % 7 == 0) {
                    failing.add(pool.submitTask(FaultInjectionHandler.TASK_TYPE, fault("fail", "message", "x")));
                }
            }
            for (TaskHandle handle : fine) {
                handle.await(Duration.ofSeconds(30));
            }
            // a crash is retried, then given up on: a dead letter; a handler error is not retried: it fails
            for (TaskHandle handle : poisoned) {
                await().atMost(Duration.ofSeconds(30)).until(() -> handle.state() == TaskState.DEAD_LETTERED);
            }
            for (TaskHandle handle : failing) {
                await().atMost(Duration.ofSeconds(30)).until(() -> handle.state() == TaskState.FAILED);
            }
            // both replacements of each crash are up again, and the listener has heard everything
            await().atMost(Duration.ofSeconds(30)).until(() -> pool.workers().size() == 2
                    && pool.workers().stream().allMatch(WorkerSnapshot::healthy)
                    && events.all(PoolEvent.TaskCompleted.class).size() == 20
                    && events.all(PoolEvent.TaskDeadLettered.class).size() == 2
                    && events.all(PoolEvent.TaskFailed.class).size() == 7
                    && events.all(PoolEvent.WorkerRestarting.class).size() == 4);

            PoolSnapshot snapshot = pool.snapshot();
            assertEquals(4L, snapshot.tasks().attemptFailures().get(FailureReason.WORKER_CRASHED));
            assertEquals(3L, snapshot.tasks().attemptFailures().get(FailureReason.HANDLER_ERROR));
            assertEquals(4, snapshot.performance().restarts());

            Map<String, String> poolTag = Map.of("pool", "metrics-it");
            await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
                String scrape = prometheus.scrape();
                Map<String, Double> s = parse(scrape);
                for (FailureReason reason : FailureReason.values()) {
                    String r = PoolMetrics.Names.reason(reason);
                    long failuresByEvents = events.all(PoolEvent.TaskFailed.class).stream()
                            .filter(e -> e.reason() == reason).count();
                    long restartsByEvents = events.all(PoolEvent.WorkerRestarting.class).stream()
                            .filter(e -> e.reason() == reason).count();
                    double failures = s.get(key("procpool_tasks_attempt_failures_total", poolTag, "reason", r));
                    assertEquals(snapshot.tasks().attemptFailures().getOrDefault(reason, 0L).doubleValue(), failures,
                            r);
                    assertEquals(failuresByEvents, failures, r);
                    Double restarts = s.get(key("procpool_worker_restarts_total", poolTag, "reason", r));
                    if (PoolMetrics.Names.RESTART_REASONS.contains(reason)) {
                        assertEquals(restartsByEvents, restarts, r);
                    } else {
                        assertEquals(null, restarts, "no series for a reason no worker dies of: " + r);
                        assertEquals(0, restartsByEvents, r);
                    }
                }
                assertEquals(4.0, s.get(key("procpool_tasks_attempt_failures_total", poolTag, "reason",
                        "worker_crashed")));
                assertEquals(3.0, s.get(key("procpool_tasks_attempt_failures_total", poolTag, "reason",
                        "handler_error")));
                assertEquals(4.0, s.get(key("procpool_worker_restarts_total", poolTag, "reason", "worker_crashed")));
                assertEquals((double) snapshot.performance().restarts(), sum(s, "procpool_worker_restarts_total"));
                assertEquals(20.0, s.get(key("procpool_tasks_completed_total", poolTag, "outcome", "succeeded")));
                assertEquals((double) snapshot.tasks().deadLettered(),
                        s.get(key("procpool_tasks_completed_total", poolTag, "outcome", "dead_lettered")));
                assertEquals((double) events.all(PoolEvent.TaskDeadLettered.class).size(),
                        s.get(key("procpool_tasks_completed_total", poolTag, "outcome", "dead_lettered")));
                assertEquals((double) snapshot.tasks().retried(), s.get(key("procpool_tasks_retried_total", poolTag)));
                assertEquals(2.0, s.get(key("procpool_tasks_retried_total", poolTag)));
                assertEquals(3.0, s.get(key("procpool_tasks_completed_total", poolTag, "outcome", "failed")));
                assertEquals((double) snapshot.tasks().failed(),
                        s.get(key("procpool_tasks_completed_total", poolTag, "outcome", "failed")));
                assertEquals(2.0, s.get(key("procpool_deadletter_size", poolTag)));
                assertEquals(2.0, s.get(key("procpool_deadletter_added_total", poolTag)));
                assertEquals(0.0, s.get(key("procpool_worker_zombies_total", poolTag)));
                assertEquals(6.0, s.get(key("procpool_worker_starts_total", poolTag)));
                // timers: every dispatch (20 + 4 + 3), every attempt's end, every worker's start-up
                assertEquals(27.0, s.get(key("procpool_task_wait_seconds_count", poolTag)));
                assertEquals(20.0, s.get(key("procpool_task_execution_seconds_count", poolTag, "outcome",
                        "succeeded")));
                assertEquals(7.0, s.get(key("procpool_task_execution_seconds_count", poolTag, "outcome", "failed")));
                // bound before start: the first two workers' start-up is timed too
                assertEquals(6.0, s.get(key("procpool_worker_startup_seconds_count", poolTag)));
                assertTrue(s.get(key("procpool_worker_startup_seconds_sum", poolTag)) > 0, scrape);
                // real processes: RSS sampled from /proc
                assertTrue(s.get(key("procpool_worker_memory_rss_bytes", poolTag, "stat", "max")) > 1_000_000, scrape);
                assertTrue(s.get(key("procpool_worker_memory_rss_bytes", poolTag, "stat", "total"))
                        >= s.get(key("procpool_worker_memory_rss_bytes", poolTag, "stat", "max")), scrape);
                assertEquals(2.0, s.get(key("procpool_workers", poolTag, "state", "idle")), scrape);
                assertEquals(snapshot.performance().workerReuseRate(), s.get(key("procpool_worker_reuse", poolTag)),
                        1e-9);
                // no label is a pid, a worker id or a task id
                Matcher label = Pattern.compile("([a-z_]+)=\"([^\"]*)\"").matcher(scrape);
                while (label.find()) {
                    assertTrue(List.of("pool", "state", "outcome", "reason", "stat").contains(label.group(1)),
                            label.group());
                    assertFalse(label.group(2).matches("t-\\d+|w-\\d+|\\d+"), label.group());
                }
            });
        }
        leaks.assertNoneLeft(Duration.ofSeconds(10));
    }

    private static final Pattern LINE = Pattern.compile("^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\\{(.*)})? (\\S+)");

    /** Series key to value; the key is the name and its labels sorted, as {@link #key} builds it. */
    private static Map<String, Double> parse(String scrape) {
        Map<String, Double> series = new HashMap<>();
        for (String line : scrape.split("\n")) {
            if (line.isBlank() || line.startsWith("#")) {
                continue;
            }
            Matcher m = LINE.matcher(line);
            assertTrue(m.find(), line);
            Map<String, String> labels = new java.util.TreeMap<>();
            if (m.group(2) != null) {
                Matcher l = Pattern.compile("([a-zA-Z_][a-zA-Z0-9_]*)=\"([^\"]*)\"").matcher(m.group(2));
                while (l.find()) {
                    labels.put(l.group(1), l.group(2));
                }
            }
            series.put(m.group(1) + labels, Double.parseDouble(m.group(3)));
        }
        return series;
    }

    private static String key(String name, Map<String, String> labels, String... more) {
        Map<String, String> all = new java.util.TreeMap<>(labels);
        for (int i = 0; i < more.length; i += 2) {
            all.put(more[i], more[i + 1]);
        }
        return name + all;
    }

    private static double sum(Map<String, Double> series, String name) {
        return series.entrySet().stream().filter(e -> e.getKey().startsWith(name + "{"))
                .mapToDouble(Map.Entry::getValue).sum();
    }
}
