package dev.procpool.core.metrics;

import dev.procpool.FailureReason;
import dev.procpool.NonRetryableException;
import dev.procpool.PoolEvent;
import dev.procpool.PoolSnapshot;
import dev.procpool.RetryPolicy;
import dev.procpool.TaskContext;
import dev.procpool.TaskHandle;
import dev.procpool.TaskHandler;
import dev.procpool.TaskRejectedException;
import dev.procpool.TaskRequest;
import dev.procpool.TaskState;
import dev.procpool.WorkerGroup;
import dev.procpool.WorkerPool;
import dev.procpool.WorkerSpec;
import dev.procpool.core.testing.EventLog;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tag;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.config.MeterFilter;
import io.micrometer.core.instrument.distribution.DistributionStatisticConfig;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The Micrometer binder on in-process workers (the real dispatcher, no processes): names as Prometheus renders
 * them, agreement with the snapshot and the events, bounded tags, and removal on close.
 */
class PoolMetricsTest {

    /** "ok" returns, "fail" throws (retryable), "fatal" throws {@link NonRetryableException}, "gate" waits. */
    public static final class MetricsHandler implements TaskHandler {
        static final Map<String, CountDownLatch> GATES = new ConcurrentHashMap<>();

        @Override
        public Set<String> taskTypes() {
            return Set.of("ok", "fail", "fatal", "gate");
        }

        @Override
        public Object handle(TaskContext context) throws Exception {
            switch (context.taskType()) {
                case "fail" -> throw new IllegalStateException("injected failure");
                case "fatal" -> throw new NonRetryableException("injected fatal failure");
                case "gate" -> gate((String) context.payload(Map.class).get("name")).await(30, TimeUnit.SECONDS);
                default -> {
                }
            }
            return Map.of("ok", true);
        }

        static CountDownLatch gate(String name) {
            return GATES.computeIfAbsent(name, n -> new CountDownLatch(1));
        }
    }

    /** Every metric the binder exposes, as a Prometheus scrape names it: a rename shows up here. */
    private static final List<String> EXPECTED_TYPES = List.of(
            "procpool_deadletter_added_total counter",
            "procpool_deadletter_evicted_total counter",
            "procpool_deadletter_size gauge",
            "procpool_queue_depth gauge",
            "procpool_queue_retry_waiting gauge",
            "procpool_task_execution_seconds summary",
            "procpool_task_execution_seconds_max gauge",
            "procpool_task_wait_seconds summary",
            "procpool_task_wait_seconds_max gauge",
            "procpool_tasks_attempt_failures_total counter",
            "procpool_tasks_completed_total counter",
            "procpool_tasks_inflight gauge",
            "procpool_tasks_rejected_total counter",
            "procpool_tasks_retried_total counter",
            "procpool_tasks_submitted_total counter",
            "procpool_worker_memory_rss_bytes gauge",
            "procpool_worker_restarts_total counter",
            "procpool_worker_reuse gauge",
            "procpool_worker_starts_total counter",
            "procpool_worker_startup_seconds summary",
            "procpool_worker_startup_seconds_max gauge",
            "procpool_worker_zombies_total counter",
            "procpool_workers gauge");

    /** The series names a PromQL query uses. */
    private static final List<String> EXPECTED_SAMPLES = List.of(
            "procpool_deadletter_added_total",
            "procpool_deadletter_evicted_total",
            "procpool_deadletter_size",
            "procpool_queue_depth",
            "procpool_queue_retry_waiting",
            "procpool_task_execution_seconds_count",
            "procpool_task_execution_seconds_max",
            "procpool_task_execution_seconds_sum",
            "procpool_task_wait_seconds_count",
            "procpool_task_wait_seconds_max",
            "procpool_task_wait_seconds_sum",
            "procpool_tasks_attempt_failures_total",
            "procpool_tasks_completed_total",
            "procpool_tasks_inflight",
            "procpool_tasks_rejected_total",
            "procpool_tasks_retried_total",
            "procpool_tasks_submitted_total",
            "procpool_worker_memory_rss_bytes",
            "procpool_worker_restarts_total",
            "procpool_worker_reuse",
            "procpool_worker_starts_total",
            "procpool_worker_startup_seconds_count",
            "procpool_worker_startup_seconds_max",
            "procpool_worker_startup_seconds_sum",
            "procpool_worker_zombies_total",
            "procpool_workers");

    private static WorkerGroup.Builder group(int workers) {
        return WorkerGroup.builder("g", WorkerSpec.inProcess(MetricsHandler.class)).workers(workers);
    }

    private static String newGate() {
        return "gate-" + UUID.randomUUID();
    }

    @Test
    void theNamesAreExactlyTheseAsPrometheusRendersThem() {
        PrometheusMeterRegistry prometheus = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        try (PoolMetrics metrics = new PoolMetrics();
             WorkerPool pool = WorkerPool.builder().name("names").group(group(1).build()).tracker(metrics).start()) {
            metrics.bindTo(prometheus);
            pool.submitTask("ok", Map.of()).await(Duration.ofSeconds(5));
            String scrape = prometheus.scrape();

            Set<String> types = new TreeSet<>();
            for (String line : scrape.split("\n")) {
                if (line.startsWith("# TYPE ")) {
                    types.add(line.substring("# TYPE ".length()));
                }
            }
            assertEquals(String.join("\n", EXPECTED_TYPES), String.join("\n", types), scrape);
            Set<String> samples = Samples.parse(scrape).all.stream().map(Sample::name)
                    .collect(Collectors.toCollection(TreeSet::new));
            assertEquals(String.join("\n", EXPECTED_SAMPLES), String.join("\n", samples), scrape);
        }
    }

    @Test
    void aScrapeAgreesWithTheSnapshotAndTheEventsAfterFailuresCancelsAndRejections() throws Exception {
        EventLog events = new EventLog();
        SimpleMeterRegistry simple = new SimpleMeterRegistry();
        PrometheusMeterRegistry prometheus = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        String gate = newGate();
        try (PoolMetrics metrics = new PoolMetrics();
             WorkerPool pool = WorkerPool.builder().name("agree").group(group(1).build())
                .queueCapacity(3).maxFrameBytes(1024).deadLetterCapacity(2)
                .retryPolicy(RetryPolicy.builder().maxAttempts(2).initialDelay(Duration.ofMillis(1))
                        .alsoRetryOn(FailureReason.HANDLER_ERROR).build())
                .listener(events).tracker(metrics).start()) {
            metrics.bindTo(simple);
            metrics.bindTo(prometheus);

            for (int i = 0; i < 5; i++) {
                pool.submitTask("ok", Map.of()).await(Duration.ofSeconds(5));
            }
            // three retryable failures: two attempts each, then the dead-letter queue (capacity 2: one evicted)
            List<TaskHandle> failing = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                failing.add(pool.submitTask("fail", Map.of()));
            }
            for (TaskHandle handle : failing) {
                await().atMost(Duration.ofSeconds(5)).until(() -> handle.state() == TaskState.DEAD_LETTERED);
            }
            // one attempt, not retryable: a final, expected failure, not a dead letter
            TaskHandle fatal = pool.submitTask("fatal", Map.of());
            await().atMost(Duration.ofSeconds(5)).until(() -> fatal.state() == TaskState.FAILED);

            // a running gate task, a full queue, two cancels
            TaskHandle gated = pool.submitTask(TaskRequest.of("gate", Map.of("name", gate)).withId("gated"));
            await().atMost(Duration.ofSeconds(5)).until(() -> gated.state() == TaskState.RUNNING);
            assertRejected(TaskRejectedException.Kind.DUPLICATE_ID,
                    () -> pool.submitTask(TaskRequest.of("gate", Map.of("name", gate)).withId("gated")));
            List<TaskHandle> queued = List.of(pool.submitTask("ok", Map.of()), pool.submitTask("ok", Map.of()),
                    pool.submitTask("ok", Map.of()));
            assertRejected(TaskRejectedException.Kind.QUEUE_FULL, () -> pool.submitTask("ok", Map.of()));
            assertTrue(queued.get(0).cancel());
            assertTrue(queued.get(1).cancel());
            MetricsHandler.gate(gate).countDown();
            gated.await(Duration.ofSeconds(5));
            queued.get(2).await(Duration.ofSeconds(5));

            assertRejected(TaskRejectedException.Kind.PAYLOAD_TOO_LARGE,
                    () -> pool.submitTask("ok", Map.of("big", "x".repeat(2000))));
            assertRejected(TaskRejectedException.Kind.NO_CAPABLE_WORKER, () -> pool.submitTask("nope", Map.of()));

            // the events arrive on the pool's event thread
            await().atMost(Duration.ofSeconds(5)).until(() -> events.all(PoolEvent.TaskCompleted.class).size() == 7
                    && events.all(PoolEvent.TaskDeadLettered.class).size() == 3
                    && events.all(PoolEvent.TaskFailed.class).size() == 7
                    && events.all(PoolEvent.TaskRetried.class).size() == 3);

            PoolSnapshot snapshot = pool.snapshot();
            assertEquals(13, snapshot.tasks().submitted());
            assertEquals(7, snapshot.tasks().completed());
            assertEquals(3, snapshot.tasks().deadLettered());
            assertEquals(1, snapshot.tasks().failed());
            assertEquals(2, snapshot.tasks().cancelled());
            assertEquals(4, snapshot.tasks().rejected());
            assertEquals(3, snapshot.tasks().retried());
            assertEquals(Map.of(FailureReason.HANDLER_ERROR, 7L), snapshot.tasks().attemptFailures());

            // a fresh scrape (the binder's cache lasts a second; nothing read it before, but be patient anyway)
            Map<String, String> agree = Map.of("pool", "agree");
            await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> {
                Samples s = Samples.parse(prometheus.scrape());
                assertEquals(snapshot.tasks().submitted(), s.value("procpool_tasks_submitted_total", agree));
                assertEquals(snapshot.tasks().completed(), s.value("procpool_tasks_completed_total",
                        with(agree, "outcome", "succeeded")));
                assertEquals(events.all(PoolEvent.TaskCompleted.class).size(), s.value(
                        "procpool_tasks_completed_total", with(agree, "outcome", "succeeded")));
                assertEquals(snapshot.tasks().deadLettered(), s.value("procpool_tasks_completed_total",
                        with(agree, "outcome", "dead_lettered")));
                assertEquals(events.all(PoolEvent.TaskDeadLettered.class).size(), s.value(
                        "procpool_tasks_completed_total", with(agree, "outcome", "dead_lettered")));
                assertEquals(snapshot.tasks().failed(),
                        s.value("procpool_tasks_completed_total", with(agree, "outcome", "failed")));
                assertEquals(1, s.value("procpool_tasks_completed_total", with(agree, "outcome", "failed")));
                assertEquals(snapshot.tasks().cancelled(), s.value("procpool_tasks_completed_total",
                        with(agree, "outcome", "cancelled")));
                assertEquals(snapshot.tasks().retried(), s.value("procpool_tasks_retried_total", agree));
                assertEquals(events.all(PoolEvent.TaskRetried.class).size(), s.value("procpool_tasks_retried_total",
                        agree));
                for (FailureReason reason : FailureReason.values()) {
                    Map<String, String> labels = with(agree, "reason", PoolMetrics.Names.reason(reason));
                    assertEquals((double) snapshot.tasks().attemptFailures().getOrDefault(reason, 0L),
                            s.value("procpool_tasks_attempt_failures_total", labels), reason.toString());
                    assertEquals(events.all(PoolEvent.TaskFailed.class).stream().filter(e -> e.reason() == reason)
                            .count(), s.value("procpool_tasks_attempt_failures_total", labels), reason.toString());
                }
                for (TaskRejectedException.Kind kind : TaskRejectedException.Kind.values()) {
                    long expected = kind == TaskRejectedException.Kind.SHUT_DOWN
                            || kind == TaskRejectedException.Kind.INVALID_PAYLOAD
                            || kind == TaskRejectedException.Kind.WORKERS_CANNOT_START
                            || kind == TaskRejectedException.Kind.STORE_UNAVAILABLE ? 0 : 1;
                    assertEquals(expected, s.value("procpool_tasks_rejected_total",
                            with(agree, "reason", PoolMetrics.Names.reason(kind))), kind.toString());
                }
                assertEquals(snapshot.tasks().rejected(), s.sum("procpool_tasks_rejected_total", agree));
                assertEquals(pool.deadLetters().size(), s.value("procpool_deadletter_size", agree));
                assertEquals(2, s.value("procpool_deadletter_size", agree));
                assertEquals(3, s.value("procpool_deadletter_added_total", agree));
                assertEquals(1, s.value("procpool_deadletter_evicted_total", agree));
                // every dispatch was timed: 7 successes and 7 failed attempts; the cancelled tasks never ran
                assertEquals(14, s.value("procpool_task_wait_seconds_count", agree));
                assertEquals(7, s.value("procpool_task_execution_seconds_count", with(agree, "outcome", "succeeded")));
                assertEquals(7, s.value("procpool_task_execution_seconds_count", with(agree, "outcome", "failed")));
                assertEquals(snapshot.performance().workersSpawned(), s.value("procpool_worker_starts_total", agree));
                assertEquals(0, s.sum("procpool_worker_restarts_total", agree));
                for (FailureReason reason : FailureReason.values()) { // only reasons a worker can die for
                    boolean series = s.all.stream().anyMatch(x -> x.name().equals("procpool_worker_restarts_total")
                            && PoolMetrics.Names.reason(reason).equals(x.labels().get("reason")));
                    assertEquals(PoolMetrics.Names.RESTART_REASONS.contains(reason), series, reason.toString());
                }
                assertEquals(1, s.sum("procpool_workers", agree));
                assertEquals(1, s.value("procpool_workers", with(agree, "state", "idle")));
                assertEquals(0, s.value("procpool_queue_depth", agree));
                assertEquals(0, s.value("procpool_tasks_inflight", agree));
                assertEquals(snapshot.performance().workerReuseRate(), s.value("procpool_worker_reuse", agree), 1e-9);
            });
            // the other registry saw the same
            assertEquals(7.0, simple.get(PoolMetrics.Names.TASKS_ATTEMPT_FAILURES).tag("reason", "handler_error")
                    .functionCounter().count());
            assertEquals(14, simple.get(PoolMetrics.Names.TASK_WAIT).timer().count());

            // spawn-to-ready: timed for workers that start after binding
            pool.scaleUp("g", 1);
            await().atMost(Duration.ofSeconds(5)).until(() -> simple.get(PoolMetrics.Names.WORKER_STARTUP).timer()
                    .count() == 1);
            assertEquals(1, Samples.parse(prometheus.scrape()).value("procpool_worker_startup_seconds_count", agree));
        }
    }

    @Test
    void closeRemovesEveryMeterFromEveryRegistryAndStopsTheTimings() {
        SimpleMeterRegistry one = new SimpleMeterRegistry();
        PrometheusMeterRegistry two = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        PoolMetrics metrics = new PoolMetrics();
        try (WorkerPool pool = WorkerPool.builder().name("closing").group(group(1).build()).tracker(metrics)
                .start()) {
            metrics.bindTo(one);
            metrics.bindTo(two);
            metrics.bindTo(one); // again: nothing new
            int perRegistry = one.getMeters().size();
            assertTrue(perRegistry > 20, "meters: " + perRegistry);
            assertEquals(perRegistry, two.getMeters().size());

            pool.submitTask("ok", Map.of()).await(Duration.ofSeconds(5));
            Timer wait = one.get(PoolMetrics.Names.TASK_WAIT).timer();
            assertEquals(1, wait.count());

            metrics.close();
            metrics.close(); // idempotent
            assertEquals(List.of(), withPoolTag(one, "closing"));
            assertEquals(List.of(), withPoolTag(two, "closing"));
            assertFalse(two.scrape().contains("procpool_"), two.scrape());
            assertThrows(IllegalStateException.class, () -> metrics.bindTo(new SimpleMeterRegistry()));

            // the closed binder's timers get nothing more
            pool.submitTask("ok", Map.of()).await(Duration.ofSeconds(5));
            assertEquals(1, wait.count());
        }
    }

    @Test
    void boundBeforeStartItTimesThePoolsFirstWorkers() {
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        PoolMetrics metrics = new PoolMetrics();
        metrics.bindTo(registry); // no pool yet: the meters appear when it exists
        assertEquals(List.of(), registry.getMeters());
        try (metrics; WorkerPool pool = WorkerPool.builder().name("early").group(group(3).build())
                .tracker(metrics).start()) {
            assertEquals(3, registry.get(PoolMetrics.Names.WORKER_STARTUP).timer().count(),
                    "the start-up of each first worker is timed");
            assertEquals(3, registry.get(PoolMetrics.Names.WORKER_STARTS).functionCounter().count());
            pool.submitTask("ok", Map.of()).await(Duration.ofSeconds(5));
        }
    }

    @Test
    void boundAfterStartItRegistersAtOnceAndTimesFromThen() {
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        try (PoolMetrics metrics = new PoolMetrics();
             WorkerPool pool = WorkerPool.builder().name("late").group(group(1).build()).tracker(metrics).start()) {
            metrics.bindTo(registry);
            assertEquals(0, registry.get(PoolMetrics.Names.WORKER_STARTUP).timer().count());
            assertEquals(1, registry.get(PoolMetrics.Names.WORKER_STARTS).functionCounter().count());
            pool.submitTask("ok", Map.of()).await(Duration.ofSeconds(5));
            assertEquals(1, registry.get(PoolMetrics.Names.TASK_WAIT).timer().count());
        }
    }

    @Test
    void onePoolMetricsTracksOnePool() {
        try (PoolMetrics metrics = new PoolMetrics();
             WorkerPool first = WorkerPool.builder().name("first").group(group(1).build()).tracker(metrics).start()) {
            IllegalStateException refused = assertThrows(IllegalStateException.class,
                    () -> WorkerPool.builder().name("second").group(group(1).build()).tracker(metrics).start());
            assertTrue(refused.getMessage().contains("already tracks pool \"first\""), refused.getMessage());
            first.submitTask("ok", Map.of()).await(Duration.ofSeconds(5));
        }
    }

    private static List<Meter.Id> withPoolTag(MeterRegistry registry, String pool) {
        return registry.getMeters().stream().map(Meter::getId).filter(id -> pool.equals(id.getTag("pool")))
                .toList();
    }

    @Test
    void tagsAreBoundedNeverTaskIdsOrPids() {
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        PrometheusMeterRegistry prometheus = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        try (PoolMetrics metrics = new PoolMetrics(Tags.of("service", "thumbnails"));
             WorkerPool pool = WorkerPool.builder().name("bounded").group(group(2).build()).tracker(metrics)
                     .start()) {
            metrics.bindTo(registry);
            metrics.bindTo(prometheus);
            for (int i = 0; i < 10; i++) {
                pool.submitTask(TaskRequest.of("ok", Map.of()).withId("task-" + i)).await(Duration.ofSeconds(5));
                assertThrows(Exception.class, () -> pool.submitTask("fail", Map.of()).await(Duration.ofSeconds(5)));
            }
            Set<String> allowed = Set.of("pool", "state", "outcome", "reason", "stat", "service");
            Set<String> values = new TreeSet<>();
            int before = registry.getMeters().size();
            for (Meter meter : registry.getMeters()) {
                for (Tag tag : meter.getId().getTags()) {
                    assertTrue(allowed.contains(tag.getKey()), meter.getId().toString());
                    values.add(tag.getValue());
                }
                assertEquals("bounded", meter.getId().getTag("pool"), meter.getId().toString());
                assertEquals("thumbnails", meter.getId().getTag("service"), meter.getId().toString());
            }
            Set<String> pidsAndIds = new TreeSet<>();
            pool.workers().forEach(w -> {
                pidsAndIds.add(Long.toString(w.pid()));
                pidsAndIds.add(w.id());
            });
            for (int i = 0; i < 10; i++) {
                pidsAndIds.add("task-" + i);
            }
            assertTrue(values.stream().noneMatch(pidsAndIds::contains), values.toString());
            // running tasks creates no meters: the series are all registered up front
            assertEquals(before, registry.getMeters().size());
            for (Sample sample : Samples.parse(prometheus.scrape()).all) {
                assertTrue(allowed.containsAll(sample.labels().keySet()), sample.toString());
            }
        }
    }

    @Test
    void extraTagsMayNotOverrideTheBindersOwn() {
        IllegalArgumentException reserved = assertThrows(IllegalArgumentException.class,
                () -> new PoolMetrics(Tags.of("pool", "other")));
        assertTrue(reserved.getMessage().contains("\"pool\""), reserved.getMessage());
        IllegalArgumentException negative = assertThrows(IllegalArgumentException.class,
                () -> new PoolMetrics(Tags.empty(), Duration.ofSeconds(-1)));
        assertTrue(negative.getMessage().contains("cacheFor"), negative.getMessage());
    }

    @Test
    void timersHaveNoPercentilesOrHistogramUnlessTheHostAsksWithAMeterFilter() {
        PrometheusMeterRegistry plain = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        PrometheusMeterRegistry withHistograms = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        // the filter from PoolMetrics' Javadoc
        withHistograms.config().meterFilter(new MeterFilter() {
            @Override
            public DistributionStatisticConfig configure(Meter.Id id, DistributionStatisticConfig config) {
                return id.getName().startsWith(PoolMetrics.Names.PREFIX + ".") && id.getType() == Meter.Type.TIMER
                        ? DistributionStatisticConfig.builder().percentilesHistogram(true).build().merge(config)
                        : config;
            }
        });
        try (PoolMetrics metrics = new PoolMetrics();
             WorkerPool pool = WorkerPool.builder().name("histograms").group(group(1).build()).tracker(metrics)
                     .start()) {
            metrics.bindTo(plain);
            metrics.bindTo(withHistograms);
            pool.submitTask("ok", Map.of()).await(Duration.ofSeconds(5));

            String scrape = plain.scrape();
            assertFalse(scrape.contains("_bucket"), scrape);
            assertFalse(scrape.contains("le=\""), scrape);
            assertFalse(scrape.contains("quantile=\""), scrape);
            Timer wait = plain.get(PoolMetrics.Names.TASK_WAIT).timer();
            assertEquals(0, wait.takeSnapshot().histogramCounts().length);
            assertEquals(0, wait.takeSnapshot().percentileValues().length);

            String histogram = withHistograms.scrape();
            assertTrue(histogram.contains("procpool_task_wait_seconds_bucket{"), histogram);
            assertTrue(histogram.contains("procpool_task_execution_seconds_bucket{"), histogram);
        }
    }

    @Test
    void oneReadOfThePoolServesTheMetersForTheCachePeriodOnThePoolsTicker() {
        AtomicLong now = new AtomicLong(1_000_000_000L);
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        try (PoolMetrics metrics = new PoolMetrics(Tags.empty(), Duration.ofSeconds(1));
             WorkerPool pool = WorkerPool.builder().name("cached").group(group(1).build()).ticker(now::get)
                     .tracker(metrics).start()) {
            metrics.bindTo(registry);
            assertEquals(0, registry.get(PoolMetrics.Names.TASKS_SUBMITTED).functionCounter().count());
            pool.submitTask("ok", Map.of()).await(Duration.ofSeconds(5));
            assertEquals(0, registry.get(PoolMetrics.Names.TASKS_SUBMITTED).functionCounter().count(),
                    "served from the read a moment ago");
            now.addAndGet(TimeUnit.MILLISECONDS.toNanos(999));
            assertEquals(0, registry.get(PoolMetrics.Names.TASKS_SUBMITTED).functionCounter().count());
            now.addAndGet(TimeUnit.MILLISECONDS.toNanos(1));
            assertEquals(1, registry.get(PoolMetrics.Names.TASKS_SUBMITTED).functionCounter().count());
            assertEquals(1, registry.get(PoolMetrics.Names.TASKS_COMPLETED).tag("outcome", "succeeded")
                    .functionCounter().count());
        }
    }

    @Test
    void withoutACacheEveryReadIsFresh() {
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        try (PoolMetrics metrics = new PoolMetrics(Tags.empty(), Duration.ZERO);
             WorkerPool pool = WorkerPool.builder().name("fresh").group(group(1).build()).tracker(metrics).start()) {
            metrics.bindTo(registry);
            assertEquals(0, registry.get(PoolMetrics.Names.TASKS_SUBMITTED).functionCounter().count());
            pool.submitTask("ok", Map.of()).await(Duration.ofSeconds(5));
            assertEquals(1, registry.get(PoolMetrics.Names.TASKS_SUBMITTED).functionCounter().count());
            assertTrue(registry.get(PoolMetrics.Names.WORKER_REUSE).gauge().value() > 0);
        }
    }

    // ------------------------------------------------------------------ helpers

    private static void assertRejected(TaskRejectedException.Kind kind, Runnable submit) {
        TaskRejectedException e = assertThrows(TaskRejectedException.class, submit::run);
        assertEquals(kind, e.kind(), e.getMessage());
    }

    static Map<String, String> with(Map<String, String> labels, String key, String value) {
        Map<String, String> all = new HashMap<>(labels);
        all.put(key, value);
        return all;
    }

    /** One sample line of a Prometheus text scrape. */
    record Sample(String name, Map<String, String> labels, double value) {
    }

    /** A parsed Prometheus text scrape (the subset Micrometer writes: no escapes in our label values). */
    static final class Samples {
        private static final Pattern LINE = Pattern.compile("^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\\{(.*)})? (\\S+)");
        private static final Pattern LABEL = Pattern.compile("([a-zA-Z_][a-zA-Z0-9_]*)=\"([^\"]*)\"");

        final List<Sample> all;

        private Samples(List<Sample> all) {
            this.all = all;
        }

        static Samples parse(String scrape) {
            List<Sample> samples = new ArrayList<>();
            for (String line : scrape.split("\n")) {
                if (line.isBlank() || line.startsWith("#")) {
                    continue;
                }
                Matcher m = LINE.matcher(line);
                if (!m.find()) {
                    throw new AssertionError("unparsable scrape line: " + line);
                }
                Map<String, String> labels = new HashMap<>();
                if (m.group(2) != null) {
                    Matcher l = LABEL.matcher(m.group(2));
                    while (l.find()) {
                        labels.put(l.group(1), l.group(2));
                    }
                }
                samples.add(new Sample(m.group(1), Map.copyOf(labels), Double.parseDouble(m.group(3))));
            }
            return new Samples(samples);
        }

        /** The value of the one sample with exactly these labels. */
        double value(String name, Map<String, String> labels) {
            List<Sample> matching = all.stream().filter(s -> s.name().equals(name) && s.labels().equals(labels))
                    .toList();
            if (matching.size() != 1) {
                throw new AssertionError(matching.size() + " samples " + name + labels + " in " + all);
            }
            return matching.get(0).value();
        }

        /** The sum over the samples whose labels include these. */
        double sum(String name, Map<String, String> labels) {
            return all.stream().filter(s -> s.name().equals(name)
                    && s.labels().entrySet().containsAll(labels.entrySet())).mapToDouble(Sample::value).sum();
        }
    }
}
