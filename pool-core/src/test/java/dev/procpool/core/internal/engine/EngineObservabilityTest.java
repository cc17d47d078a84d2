package dev.procpool.core.internal.engine;

import dev.procpool.FailureReason;
import dev.procpool.HealthStatus;
import dev.procpool.PoolConfig;
import dev.procpool.PoolHealth;
import dev.procpool.PoolSnapshot;
import dev.procpool.PoolState;
import dev.procpool.RetryPolicy;
import dev.procpool.TaskFailedException;
import dev.procpool.TaskProgress;
import dev.procpool.TaskRejectedException;
import dev.procpool.TaskRequest;
import dev.procpool.TaskResult;
import dev.procpool.TaskState;
import dev.procpool.WorkerGroup;
import dev.procpool.WorkerSpec;
import dev.procpool.WorkerState;
import dev.procpool.core.internal.engine.FakeWorkers.FakeWorker;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.UnaryOperator;

import static dev.procpool.core.internal.engine.EngineHarness.failure;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * What the engine lets callers see: task output (stderr and log lines), progress, pool snapshots and
 * backpressure, driven with fake time and fake workers as in {@link EngineTest}.
 */
class EngineObservabilityTest {
    private static final long MS = 1_000_000L;
    /** A first crash waits the backoff too, as every failure did before it was retried at once by default. */
    private static final RetryPolicy BACKOFF_FROM_FIRST_CRASH = RetryPolicy.builder().retryFirstCrashAtOnce(false)
            .build();

    private final List<EngineHarness> harnesses = new ArrayList<>();

    @AfterEach
    void closeEventBuses() {
        harnesses.forEach(EngineHarness::close);
    }

    private EngineHarness harness(WorkerGroup group, UnaryOperator<PoolConfig.Builder> settings) {
        EngineHarness h = new EngineHarness(group, b -> settings.apply(b
                .heartbeatInterval(Duration.ofSeconds(1))
                .heartbeatTimeout(Duration.ofSeconds(10))
                .startupTimeout(Duration.ofSeconds(60))
                .stopGracePeriod(Duration.ofSeconds(3))
                .cancelGracePeriod(Duration.ofSeconds(2))));
        harnesses.add(h);
        return h;
    }

    private EngineHarness harness(WorkerGroup group) {
        return harness(group, b -> b);
    }

    private static WorkerGroup group(int workers) {
        return groupBuilder(workers).build();
    }

    private static WorkerGroup.Builder groupBuilder(int workers) {
        return WorkerGroup.builder("default", WorkerSpec.command("fake-worker", "--serve")).workers(workers);
    }

    /** One worker that runs up to two tasks at once. */
    private EngineHarness twoSlots() {
        return harness(groupBuilder(1).maxConcurrency(2).build()).startReady(2);
    }

    // ============================================================================================ output

    @Nested
    class Output {
        @Test
        void stderr_written_while_a_worker_runs_one_task_is_returned_with_its_result() {
            EngineHarness h = harness(group(1)).startReady();
            FakeWorker worker = h.workers.get("w-1");
            worker.stderr("before any task"); // belongs to no task
            TaskRecord task = h.submit("t");
            worker.stderr("loading model");
            worker.log("WARN", "cache cold", null); // an untagged log frame goes to the only task too
            worker.stderr("done");
            worker.result("t", "1");
            worker.stderr("after the task"); // belongs to no task

            TaskResult result = task.future.join();
            assertEquals(List.of("loading model", "cache cold", "done"), result.output());
            assertEquals(Optional.of(List.of("loading model", "cache cold", "done")),
                    h.engine.taskOutput("t", 10));
        }

        @Test
        void the_output_of_a_failed_attempt_is_in_the_task_failed_exception() {
            EngineHarness h = harness(group(1)).startReady();
            FakeWorker worker = h.workers.get("w-1");
            TaskRecord task = h.submit("bad");
            worker.stderr("parsing input");
            worker.stderr("Traceback (most recent call last):");
            worker.error("bad", "HANDLER_ERROR", true);

            TaskFailedException failed = failure(task);
            assertEquals(FailureReason.HANDLER_ERROR, failed.reason());
            assertEquals(List.of("parsing input", "Traceback (most recent call last):"), failed.output());
            assertEquals(Optional.of(failed.output()), h.engine.taskOutput("bad", 10));
        }

        @Test
        void the_output_of_a_task_whose_worker_died_is_in_the_task_failed_exception() {
            EngineHarness h = harness(group(1)).startReady();
            FakeWorker worker = h.workers.get("w-1");
            TaskRecord task = h.submit(TaskRequest.of("work", 1).withId("crash").withRetryPolicy(RetryPolicy.none()));
            worker.stderr("Segmentation fault");
            worker.exit(128 + 11);
            assertEquals(TaskState.DEAD_LETTERED, task.state);
            assertEquals(List.of("Segmentation fault"), failure(task).output());
        }

        @Test
        void with_two_tasks_in_flight_an_untagged_line_belongs_to_neither_and_a_tagged_log_line_to_its_task() {
            EngineHarness h = twoSlots();
            FakeWorker worker = h.workers.get("w-1");
            TaskRecord a = h.submit("a");
            TaskRecord b = h.submit("b");
            assertEquals("w-1", b.worker.id);

            worker.stderr("whose is this?");
            worker.log("INFO", "untagged log", null);
            worker.log("INFO", "for a", "a");
            worker.log("ERROR", "for b", "b");
            worker.log("INFO", "for a task it does not hold", "elsewhere");
            worker.result("a", "1");
            worker.stderr("b alone now"); // one task in flight again: the line is b's
            worker.result("b", "2");

            assertEquals(List.of("for a"), a.future.join().output());
            assertEquals(List.of("for b", "b alone now"), b.future.join().output());
        }

        @Test
        void a_log_line_tagged_with_a_task_of_another_worker_is_not_kept() {
            EngineHarness h = harness(group(2)).startReady();
            TaskRecord task = h.submit("mine");
            FakeWorker holder = h.workers.get(task.worker.id);
            FakeWorker other = h.workers.get(holder.id.equals("w-1") ? "w-2" : "w-1");
            other.log("INFO", "not yours", "mine");
            holder.log("INFO", "yours", "mine");
            holder.result("mine", "1");
            assertEquals(List.of("yours"), task.future.join().output());
        }

        @Test
        void output_keeps_the_last_max_task_output_lines() {
            EngineHarness h = harness(group(1), b -> b.maxTaskOutputLines(3)).startReady();
            FakeWorker worker = h.workers.get("w-1");
            TaskRecord task = h.submit("chatty");
            for (int i = 1; i <= 5; i++) {
                worker.stderr("line " + i);
            }
            worker.result("chatty", "1");
            assertEquals(List.of("line 3", "line 4", "line 5"), task.future.join().output());
            assertEquals(Optional.of(List.of("line 3", "line 4", "line 5")), h.engine.taskOutput("chatty", 100));
        }

        @Test
        void with_max_task_output_lines_zero_nothing_is_kept() {
            EngineHarness h = harness(group(1), b -> b.maxTaskOutputLines(0)).startReady();
            FakeWorker worker = h.workers.get("w-1");
            TaskRecord task = h.submit("quiet");
            worker.stderr("ignored");
            worker.log("INFO", "ignored too", "quiet");
            worker.result("quiet", "1");
            assertEquals(List.of(), task.future.join().output());
            assertEquals(Optional.empty(), h.engine.taskOutput("quiet", 10));
        }

        @Test
        void each_attempt_starts_with_empty_output() {
            EngineHarness h = harness(group(2)).startReady();
            TaskRecord task = h.submit("flaky");
            FakeWorker first = h.workers.get(task.worker.id);
            first.stderr("attempt one");
            first.exit(1);
            assertEquals(TaskState.RUNNING, task.state, "a first crash is retried at once; the other worker is free");
            FakeWorker second = h.workers.get(task.worker.id);
            assertNotEquals(first.id, second.id);
            second.stderr("attempt two");
            second.result("flaky", "1");

            assertEquals(2, task.future.join().attempt());
            assertEquals(List.of("attempt two"), task.future.join().output());
            assertTrue(task.failedAttempts.get(0).stderrTail().contains("attempt one"),
                    "the first attempt's lines stay in its attempt record");
        }

        @Test
        void task_output_returns_the_last_n_lines_after_the_task_ended_until_the_retention_passes() {
            EngineHarness h = harness(group(1), b -> b.outputRetention(Duration.ofMinutes(1))).startReady();
            FakeWorker worker = h.workers.get("w-1");
            h.submit("t");
            for (int i = 1; i <= 4; i++) {
                worker.stderr("line " + i);
            }
            worker.result("t", "1");
            long ended = h.now();

            assertEquals(Optional.of(List.of("line 3", "line 4")), h.engine.taskOutput("t", 2));
            assertEquals(Optional.of(List.of("line 1", "line 2", "line 3", "line 4")),
                    h.engine.taskOutput("t", 4));
            assertEquals(Optional.of(List.of("line 1", "line 2", "line 3", "line 4")),
                    h.engine.taskOutput("t", 1000));
            assertEquals(Optional.empty(), h.engine.taskOutput("unknown", 10));

            h.ticker.set(ended + Duration.ofMinutes(1).toNanos() - 1);
            assertEquals(Optional.of(List.of("line 4")), h.engine.taskOutput("t", 1));
            h.ticker.set(ended + Duration.ofMinutes(1).toNanos());
            assertEquals(Optional.empty(), h.engine.taskOutput("t", 10));
        }

        @Test
        void the_output_of_a_task_cancelled_before_it_ran_is_not_kept() {
            EngineHarness h = harness(group(1)).startReady();
            h.submit("busy");
            TaskRecord queued = h.submit("queued");
            assertTrue(h.engine.cancel(queued));
            assertEquals(Optional.empty(), h.engine.taskOutput("queued", 10));
        }

        @Test
        void a_line_over_4000_characters_is_cut_at_4000_and_marked() {
            EngineHarness h = harness(group(1)).startReady();
            FakeWorker worker = h.workers.get("w-1");
            TaskRecord task = h.submit("long");
            String exactly = "e".repeat(4000);
            worker.stderr(exactly);
            worker.stderr("s".repeat(5000));
            worker.log("INFO", "l".repeat(4001), "long");
            worker.result("long", "1");

            List<String> output = task.future.join().output();
            assertEquals(3, output.size());
            assertEquals(4000, output.get(0).length());
            assertTrue(output.get(0).equals(exactly), "a line of exactly 4000 characters is kept whole");
            assertEquals(4001, output.get(1).length(), "4000 characters and the mark");
            assertTrue(output.get(1).equals("s".repeat(4000) + "…"), "a stderr line is cut and marked");
            assertEquals(4001, output.get(2).length());
            assertTrue(output.get(2).equals("l".repeat(4000) + "…"), "a log line is cut and marked");
        }

        @Test
        void with_a_task_log_directory_a_failed_task_leaves_a_file_named_with_its_id_and_worker_pid(
                @TempDir Path directory) throws Exception {
            EngineHarness h = harness(group(1), b -> b.taskLogDirectory(directory)).startReady();
            FakeWorker worker = h.workers.get("w-1");
            TaskRecord task = h.submit("job/../1");
            worker.stderr("about to fail");
            worker.error("job/../1", "HANDLER_ERROR", true);
            assertEquals(TaskState.FAILED, task.state);

            Path file = directory.resolve("job_.._1-" + worker.pid() + ".log");
            assertTrue(Files.exists(file), "expected " + file + " among " + list(directory));
            assertEquals(List.of("about to fail"), Files.readAllLines(file, StandardCharsets.UTF_8));
        }

        @Test
        void a_succeeded_task_leaves_a_file_named_with_the_pid_of_the_worker_that_ran_it(@TempDir Path directory)
                throws Exception {
            EngineHarness h = harness(group(1), b -> b.taskLogDirectory(directory)).startReady();
            FakeWorker worker = h.workers.get("w-1");
            h.submit("ok");
            worker.stderr("fine");
            worker.result("ok", "1");
            assertEquals(List.of("ok-" + worker.pid() + ".log"), list(directory));
            assertEquals(List.of("fine"), Files.readAllLines(directory.resolve("ok-" + worker.pid() + ".log")));
        }

        @Test
        void a_task_that_succeeded_on_its_second_attempt_leaves_a_file_named_with_the_second_worker_pid(
                @TempDir Path directory) throws Exception {
            EngineHarness h = harness(group(2), b -> b.taskLogDirectory(directory)).startReady();
            TaskRecord task = h.submit("again");
            FakeWorker first = h.workers.get(task.worker.id);
            first.stderr("first try");
            long crashed = h.now();
            first.exit(1);
            assertEquals(List.of(), list(directory), "no file while the task waits to be retried");

            h.maintainAt(crashed + 100 * MS);
            FakeWorker second = h.workers.get(task.worker.id);
            second.stderr("second try");
            second.result("again", "1");
            assertEquals(List.of("again-" + second.pid() + ".log"), list(directory));
            assertEquals(List.of("second try"),
                    Files.readAllLines(directory.resolve("again-" + second.pid() + ".log")));
        }


        private List<String> list(Path directory) throws java.io.IOException {
            try (var files = Files.list(directory)) {
                return files.map(p -> p.getFileName().toString()).toList();
            }
        }
    }

    // ============================================================================================ progress

    @Nested
    class Progress {
        @Test
        void a_progress_frame_reaches_every_listener_of_the_task() {
            EngineHarness h = harness(group(1)).startReady();
            FakeWorker worker = h.workers.get("w-1");
            TaskRecord task = h.submit("p");
            List<TaskProgress> first = new CopyOnWriteArrayList<>();
            List<TaskProgress> second = new CopyOnWriteArrayList<>();
            task.addProgressListener(first::add);
            DefaultTaskHandle handle = new DefaultTaskHandle(task, h.engine::cancel);
            assertSame(handle, handle.onProgress(second::add), "onProgress returns the handle");

            worker.progress("p", 0.25, "reading");
            worker.progress("p", 0.5, null);
            List<TaskProgress> expected = List.of(new TaskProgress("p", 0.25, "reading"),
                    new TaskProgress("p", 0.5, ""));
            assertEquals(expected, first);
            assertEquals(expected, second);
        }

        @Test
        void progress_is_reported_only_to_the_listeners_of_the_task_it_names() {
            EngineHarness h = twoSlots();
            FakeWorker worker = h.workers.get("w-1");
            TaskRecord a = h.submit("a");
            TaskRecord b = h.submit("b");
            List<TaskProgress> ofA = new CopyOnWriteArrayList<>();
            List<TaskProgress> ofB = new CopyOnWriteArrayList<>();
            a.addProgressListener(ofA::add);
            b.addProgressListener(ofB::add);

            worker.progress("b", 0.9, "almost");
            worker.progress("nobody", 0.1, "stray");
            assertEquals(List.of(), ofA);
            assertEquals(List.of(new TaskProgress("b", 0.9, "almost")), ofB);
        }

        @Test
        void no_progress_is_reported_after_the_task_ended() {
            EngineHarness h = twoSlots();
            FakeWorker worker = h.workers.get("w-1");
            TaskRecord done = h.submit("done");
            TaskRecord cancelled = h.submit("cancelled");
            List<TaskProgress> seen = new CopyOnWriteArrayList<>();
            done.addProgressListener(seen::add);
            cancelled.addProgressListener(seen::add);

            worker.result("done", "1");
            worker.progress("done", 1.0, "late");
            assertTrue(h.engine.cancel(cancelled));
            assertEquals(TaskState.CANCELLED, cancelled.state);
            worker.progress("cancelled", 0.5, "still going"); // the worker still holds it
            assertEquals(List.of(), seen);
        }

        @Test
        void progress_from_a_worker_that_does_not_hold_the_task_is_ignored() {
            EngineHarness h = harness(group(2)).startReady();
            TaskRecord task = h.submit("mine");
            List<TaskProgress> seen = new CopyOnWriteArrayList<>();
            task.addProgressListener(seen::add);
            FakeWorker other = h.workers.get(task.worker.id.equals("w-1") ? "w-2" : "w-1");
            other.progress("mine", 0.5, "not mine");
            assertEquals(List.of(), seen);
        }


        @Test
        void a_throwing_listener_breaks_neither_the_other_listeners_nor_the_dispatcher() {
            EngineHarness h = harness(group(1)).startReady();
            FakeWorker worker = h.workers.get("w-1");
            TaskRecord task = h.submit("p");
            List<TaskProgress> before = new CopyOnWriteArrayList<>();
            List<TaskProgress> after = new CopyOnWriteArrayList<>();
            task.addProgressListener(before::add);
            task.addProgressListener(report -> {
                throw new IllegalStateException("listener bug");
            });
            task.addProgressListener(after::add);

            worker.progress("p", 0.5, "half");
            worker.progress("p", 0.75, "more");
            assertEquals(2, before.size());
            assertEquals(List.of(new TaskProgress("p", 0.5, "half"), new TaskProgress("p", 0.75, "more")), after);

            worker.result("p", "\"fine\"");
            assertEquals("\"fine\"", task.future.join().json());
            assertEquals(WorkerState.IDLE, h.snapshot("w-1").state());
            TaskRecord next = h.submit("next");
            assertEquals(TaskState.RUNNING, next.state);
        }
    }

    // ============================================================================================ snapshot

    @Nested
    class Snapshot {
        @Test
        void a_fresh_pool_reports_zeros_and_its_workers() {
            EngineHarness h = harness(group(2)).startReady();
            PoolSnapshot s = h.engine.snapshot();
            assertEquals(new PoolSnapshot.Pool("unit", 2, PoolState.RUNNING, 0), s.pool());
            assertEquals(new PoolSnapshot.Workers(2, 2, 0, 0), s.workers());
            assertEquals(new PoolSnapshot.Tasks(0, 0, 0, 0, 0, 0, 0, 0, 0, Map.of(), Map.of()), s.tasks());
            assertEquals(new PoolSnapshot.Performance(0.0, 2, 0, 0, 0.0, Map.of(), 0), s.performance());
            assertEquals(new PoolSnapshot.Queue(0, 0, 0.0), s.queue());
            assertEquals(List.of(new PoolSnapshot.Group("default", 2, 2, 2, 2, 0)), s.groups());
            assertEquals(new PoolHealth(HealthStatus.HEALTHY, List.of()), s.health());
        }

        /**
         * Two workers, five tasks. With T0 the start:
         * <pre>
         * T0       a, b dispatched at once; c, d queued
         * +100 ms  a succeeds (ran 100 ms); c dispatched to a's worker (waited 100 ms)
         * +200 ms  b succeeds (ran 200 ms); d dispatched to b's worker (waited 200 ms)
         * +300 ms  c's worker crashes (it served a): c retries at +400 ms, the replacement starts at +400 ms
         * +400 ms  c queued again, nothing free; w-3 launched
         * +500 ms  d fails HANDLER_ERROR (not retried: FAILED); c dispatched (waited 100 ms); e queued and cancelled;
         *          a duplicate id is refused; the group is scaled up by one (w-4)
         * +600 ms  w-3 ready
         * </pre>
         */
        @Test
        void a_scripted_scenario_gives_exact_counts_rates_and_times() {
            EngineHarness h = harness(group(2), b -> b.retryPolicy(BACKOFF_FROM_FIRST_CRASH)).startReady();
            long t0 = h.now();
            h.engine.countRejected(TaskRejectedException.Kind.PAYLOAD_TOO_LARGE);
            TaskRecord a = h.submit("a");
            TaskRecord b = h.submit("b");
            TaskRecord c = h.submit("c");
            TaskRecord d = h.submit("d");
            FakeWorker wa = h.workers.get(a.worker.id);
            FakeWorker wb = h.workers.get(b.worker.id);
            assertNotEquals(wa.id, wb.id);
            assertEquals(TaskState.QUEUED, c.state);
            assertEquals(TaskState.QUEUED, d.state);

            PoolSnapshot early = h.engine.snapshot();
            assertEquals(new PoolSnapshot.Tasks(4, 0, 0, 0, 0, 1, 0, 2, 2, Map.of(),
                    Map.of(TaskRejectedException.Kind.PAYLOAD_TOO_LARGE, 1L)), early.tasks());
            assertEquals(new PoolSnapshot.Workers(2, 0, 2, 0), early.workers());
            assertEquals(new PoolSnapshot.Queue(2, 0, 0.0), early.queue());

            h.ticker.set(t0 + 100 * MS);
            wa.result("a", "1");
            assertEquals(wa.id, c.worker.id);
            h.ticker.set(t0 + 200 * MS);
            wb.result("b", "2");
            assertEquals(wb.id, d.worker.id);
            h.ticker.set(t0 + 300 * MS);
            wa.exit(1);
            assertEquals(TaskState.RETRY_WAIT, c.state);

            PoolSnapshot middle = h.engine.snapshot();
            assertEquals(new PoolSnapshot.Queue(0, 1, 75.0), middle.queue(), "waits 0, 0, 100, 200 ms");
            assertEquals(1, middle.pool().size());

            h.maintainAt(t0 + 400 * MS);
            assertEquals(TaskState.QUEUED, c.state);
            assertEquals(WorkerState.STARTING, h.snapshot("w-3").state());

            h.ticker.set(t0 + 500 * MS);
            wb.error("d", "HANDLER_ERROR", true);
            assertEquals(TaskState.FAILED, d.state);
            assertEquals(wb.id, c.worker.id);
            TaskRecord e = h.submit("e");
            assertEquals(TaskState.QUEUED, e.state);
            assertTrue(h.engine.cancel(e));
            TaskRejectedException duplicate = assertThrows(TaskRejectedException.class, () -> h.submit("c"));
            assertEquals(TaskRejectedException.Kind.DUPLICATE_ID, duplicate.kind());
            h.engine.scale("default", 1);
            assertEquals(WorkerState.STARTING, h.snapshot("w-4").state());

            h.ticker.set(t0 + 600 * MS);
            h.workers.get("w-3").ready();

            PoolSnapshot s = h.engine.snapshot();
            assertEquals(new PoolSnapshot.Pool("unit", 3, PoolState.RUNNING, 600), s.pool());
            // b's worker busy with c, w-3 idle, w-4 starting
            assertEquals(new PoolSnapshot.Workers(3, 1, 1, 1), s.workers());
            assertEquals(new PoolSnapshot.Tasks(5, 2, 1, 0, 1, 2, 1, 0, 1,
                    Map.of(FailureReason.WORKER_CRASHED, 1L, FailureReason.HANDLER_ERROR, 1L),
                    Map.of(TaskRejectedException.Kind.PAYLOAD_TOO_LARGE, 1L,
                            TaskRejectedException.Kind.DUPLICATE_ID, 1L)), s.tasks());
            // served: a by the dead worker; b and d by b's worker: 3 tasks over 4 workers started
            assertEquals(new PoolSnapshot.Performance(0.75, 4, 1, 0, 150.0, Map.of(FailureReason.WORKER_CRASHED, 1L),
                    0), s.performance());
            // waits: a 0, b 0, c 100, d 200, c again 100 ms
            assertEquals(new PoolSnapshot.Queue(0, 0, 80.0), s.queue());
            assertEquals(List.of(new PoolSnapshot.Group("default", 3, 2, 3, 3, 0)), s.groups());
            assertEquals(new PoolHealth(HealthStatus.HEALTHY, List.of()), s.health());

            Counters counters = h.engine.counters();
            assertEquals(Map.of(TaskRejectedException.Kind.PAYLOAD_TOO_LARGE, 1L,
                    TaskRejectedException.Kind.DUPLICATE_ID, 1L), counters.rejectedByKind);
            assertEquals(Map.of(FailureReason.WORKER_CRASHED, 1L), counters.restartsByReason);
        }

        @Test
        void a_silent_or_stopping_worker_is_unhealthy_in_the_snapshot() {
            EngineHarness h = harness(group(3)).startReady();
            long start = h.now();
            h.ticker.set(start + Duration.ofSeconds(10).toNanos() - 1);
            h.workers.get("w-1").heartbeat();
            h.workers.get("w-2").heartbeat();
            h.ticker.set(start + Duration.ofSeconds(10).toNanos()); // w-3 silent for the heartbeat timeout
            assertEquals(new PoolSnapshot.Workers(3, 2, 0, 1), h.engine.snapshot().workers());

            h.engine.shutdown(); // idle workers are asked to stop
            PoolSnapshot s = h.engine.snapshot();
            assertEquals(new PoolSnapshot.Workers(3, 0, 0, 3), s.workers());
            assertEquals(PoolState.DRAINING, s.pool().state());
            assertEquals(List.of(new PoolSnapshot.Group("default", 3, 3, 3, 0, 0)), s.groups());
        }
    }

    // ============================================================================================ backpressure

    @Nested
    class Backpressure {
        @Test
        void with_a_queue_capacity_of_two_the_third_queued_task_is_rejected_until_a_cancel_makes_room() {
            EngineHarness h = harness(group(1), b -> b.queueCapacity(2).rejectWhenFull()).start();
            h.engine.markRunning(); // the worker is not ready: everything queues
            TaskRecord first = h.submit("first");
            TaskRecord second = h.submit("second");
            TaskRejectedException full = assertThrows(TaskRejectedException.class, () -> h.submit("third"));
            assertEquals(TaskRejectedException.Kind.QUEUE_FULL, full.kind());
            assertTrue(full.getMessage().contains("queueCapacity 2"), full.getMessage());
            assertEquals(1, h.engine.snapshot().tasks().rejected());
            assertEquals(2, h.engine.snapshot().tasks().submitted());
            assertEquals(2, h.engine.snapshot().queue().depth());

            assertTrue(h.engine.cancel(first));
            TaskRecord third = h.submit("third");
            assertEquals(TaskState.QUEUED, third.state);
            assertThrows(TaskRejectedException.class, () -> h.submit("fourth"));

            PoolSnapshot s = h.engine.snapshot();
            assertEquals(new PoolSnapshot.Tasks(3, 0, 0, 0, 1, 2, 0, 2, 0, Map.of(),
                    Map.of(TaskRejectedException.Kind.QUEUE_FULL, 2L)), s.tasks());
            assertEquals(Map.of(TaskRejectedException.Kind.QUEUE_FULL, 2L), h.engine.counters().rejectedByKind);

            h.workers.get("w-1").ready();
            assertEquals(TaskState.RUNNING, second.state, "room again once a worker takes one");
            assertEquals(TaskState.QUEUED, h.submit("fourth").state);
        }

        @Test
        void running_tasks_do_not_count_against_the_capacity_but_tasks_waiting_to_retry_do() {
            EngineHarness h = harness(group(2), b -> b.queueCapacity(2).retryPolicy(BACKOFF_FROM_FIRST_CRASH))
                    .startReady();
            TaskRecord a = h.submit("a");
            TaskRecord b = h.submit("b");
            assertEquals(TaskState.RUNNING, a.state);
            assertEquals(TaskState.RUNNING, b.state);
            h.workers.get(a.worker.id).exit(1);
            assertEquals(TaskState.RETRY_WAIT, a.state);

            assertEquals(TaskState.QUEUED, h.submit("c").state);
            TaskRejectedException full = assertThrows(TaskRejectedException.class, () -> h.submit("d"));
            assertEquals(TaskRejectedException.Kind.QUEUE_FULL, full.kind());
            assertEquals(new PoolSnapshot.Queue(1, 1, 0.0), h.engine.snapshot().queue());
        }

        @Test
        void a_submitter_blocked_on_a_full_queue_gives_up_after_block_when_full() {
            EngineHarness h = harness(group(1), b -> b.queueCapacity(1).blockWhenFull(Duration.ofMillis(1)))
                    .start();
            h.engine.markRunning();
            h.submit("first");
            TaskRejectedException full = assertThrows(TaskRejectedException.class, () -> h.submit("second"));
            assertEquals(TaskRejectedException.Kind.QUEUE_FULL, full.kind());
            assertTrue(full.getMessage().contains("stayed full for 1 ms"), full.getMessage());
            assertEquals(1, h.engine.snapshot().tasks().rejected());
        }

        @Test
        void a_shut_down_pool_rejects_and_counts_the_rejection() {
            EngineHarness h = harness(group(1)).startReady();
            h.engine.shutdown();
            TaskRejectedException rejected = assertThrows(TaskRejectedException.class, () -> h.submit("late"));
            assertEquals(TaskRejectedException.Kind.SHUT_DOWN, rejected.kind());
            assertEquals(1, h.engine.snapshot().tasks().rejected());
            assertEquals(0, h.engine.snapshot().tasks().submitted());
            assertFalse(h.engine.state().acceptsTasks());
        }
    }
}
