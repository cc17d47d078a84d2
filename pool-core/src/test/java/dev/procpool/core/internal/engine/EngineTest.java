package dev.procpool.core.internal.engine;

import dev.procpool.AttemptRecord;
import dev.procpool.DeadLetter;
import dev.procpool.FailureReason;
import dev.procpool.HealthStatus;
import dev.procpool.LoadBalancer;
import dev.procpool.PoolEvent;
import dev.procpool.PoolHealth;
import dev.procpool.PoolState;
import dev.procpool.RestartPolicy;
import dev.procpool.RetryPolicy;
import dev.procpool.TaskFailedException;
import dev.procpool.TaskRejectedException;
import dev.procpool.TaskRequest;
import dev.procpool.TaskState;
import dev.procpool.WorkerGroup;
import dev.procpool.WorkerSnapshot;
import dev.procpool.WorkerSpec;
import dev.procpool.WorkerStartupException;
import dev.procpool.WorkerState;
import dev.procpool.core.internal.engine.FakeWorkers.FakeWorker;
import dev.procpool.core.internal.process.ExitStatus;
import dev.procpool.core.internal.protocol.Frame;
import dev.procpool.core.internal.retry.Backoff;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.function.UnaryOperator;

import static dev.procpool.core.internal.engine.EngineHarness.failure;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The engine's state machines driven with fake time, fake processes, a fake memory probe and a fixed random
 * number ({@value EngineHarness#RANDOM}, which makes every jitter exactly zero). Nothing sleeps and no process is
 * started: every step happens on the test thread, so each assertion follows the step it checks.
 */
class EngineTest {
    private static final long MS = 1_000_000L;
    private static final long SECOND = 1_000 * MS;
    private static final long MIB = 1L << 20;

    private static final Duration HEARTBEAT_TIMEOUT = Duration.ofSeconds(10);
    private static final Duration STOP_GRACE = Duration.ofSeconds(3);
    private static final Duration CANCEL_GRACE = Duration.ofSeconds(2);
    /** How long the engine waits for a JVM's thread dump (SIGQUIT) before SIGTERM. */
    private static final long THREAD_DUMP_WAIT = 500 * MS;
    /** The default policy, but a first crash waits the backoff too: for the tests of the backoff itself. */
    private static final RetryPolicy BACKOFF_FROM_FIRST_CRASH = RetryPolicy.builder().retryFirstCrashAtOnce(false)
            .build();

    private final List<EngineHarness> harnesses = new ArrayList<>();

    @AfterEach
    void closeEventBuses() {
        harnesses.forEach(EngineHarness::close);
    }

    private EngineHarness harness(WorkerGroup group, UnaryOperator<dev.procpool.PoolConfig.Builder> settings) {
        EngineHarness h = new EngineHarness(group, b -> settings.apply(b
                .heartbeatInterval(Duration.ofSeconds(1))
                .heartbeatTimeout(HEARTBEAT_TIMEOUT)
                .startupTimeout(Duration.ofSeconds(60))
                .stopGracePeriod(STOP_GRACE)
                .cancelGracePeriod(CANCEL_GRACE)));
        harnesses.add(h);
        return h;
    }

    private EngineHarness harness(WorkerGroup group) {
        return harness(group, b -> b);
    }

    private static WorkerGroup javaGroup(int workers) {
        return WorkerGroup.builder("default", WorkerSpec.java(List.of("com.example.Handler"))).workers(workers).build();
    }

    private static WorkerGroup commandGroup(int workers) {
        return commandGroupBuilder(workers).build();
    }

    private static WorkerGroup.Builder commandGroupBuilder(int workers) {
        return WorkerGroup.builder("default", WorkerSpec.command("fake-worker", "--serve")).workers(workers);
    }

    // ============================================================================================ heartbeats

    @Nested
    class Heartbeats {
        @Test
        void a_worker_silent_one_nanosecond_short_of_the_timeout_is_kept_and_at_the_timeout_is_a_zombie() {
            EngineHarness h = harness(javaGroup(1)).startReady();
            long readyAt = h.now(); // the ready frame is the last sign of life
            FakeWorker worker = h.workers.get("w-1");

            h.maintainAt(readyAt + HEARTBEAT_TIMEOUT.toNanos() - 1);
            WorkerSnapshot kept = h.snapshot("w-1");
            assertEquals(WorkerState.IDLE, kept.state());
            assertTrue(kept.healthy());
            assertEquals(List.of(), worker.connection.stopActions());
            assertEquals(0, h.engine.counters().zombies);

            h.maintainAt(readyAt + HEARTBEAT_TIMEOUT.toNanos());
            WorkerSnapshot zombie = h.snapshot("w-1");
            assertEquals(WorkerState.ZOMBIE, zombie.state());
            assertFalse(zombie.healthy());
            assertEquals(1, h.engine.counters().zombies);
            // a JVM is asked for a thread dump first; /proc's view of the process is kept in the output tail
            assertEquals(List.of("signal:QUIT"), worker.connection.stopActions());
            assertTrue(worker.connection.output().lines().contains("[/proc] State:\tS (sleeping)"),
                    worker.connection.output().lines().toString());
        }

        @Test
        void a_java_zombie_gets_sigquit_then_sigterm_after_the_thread_dump_wait_then_sigkill_after_the_grace() {
            EngineHarness h = harness(javaGroup(1)).startReady();
            FakeWorker worker = h.workers.get("w-1");
            long detected = h.maintainAt(h.now() + HEARTBEAT_TIMEOUT.toNanos());
            assertEquals(List.of("signal:QUIT"), worker.connection.stopActions());

            h.maintainAt(detected + THREAD_DUMP_WAIT - 1);
            assertEquals(List.of("signal:QUIT"), worker.connection.stopActions());
            long terminated = h.maintainAt(detected + THREAD_DUMP_WAIT);
            assertEquals(List.of("signal:QUIT", "terminate"), worker.connection.stopActions());

            h.maintainAt(terminated + STOP_GRACE.toNanos() - 1);
            assertEquals(List.of("signal:QUIT", "terminate"), worker.connection.stopActions());
            h.maintainAt(terminated + STOP_GRACE.toNanos());
            assertEquals(List.of("signal:QUIT", "terminate", "kill"), worker.connection.stopActions());
            assertEquals(WorkerState.ZOMBIE, h.snapshot("w-1").state());

            worker.exit(128 + ExitStatus.SIGKILL);
            assertFalse(h.hasWorker("w-1"));
            assertEquals(1, h.engine.counters().restarts, "a zombie's replacement counts as a restart");
        }

        @Test
        void a_command_zombie_gets_sigterm_at_once_and_sigkill_after_the_grace() {
            EngineHarness h = harness(commandGroup(1)).startReady();
            FakeWorker worker = h.workers.get("w-1");
            long detected = h.maintainAt(h.now() + HEARTBEAT_TIMEOUT.toNanos());
            assertEquals(WorkerState.ZOMBIE, h.snapshot("w-1").state());
            assertEquals(List.of("terminate"), worker.connection.stopActions(), "no thread dump for a non-JVM");

            h.maintainAt(detected + STOP_GRACE.toNanos() - 1);
            assertEquals(List.of("terminate"), worker.connection.stopActions());
            h.maintainAt(detected + STOP_GRACE.toNanos());
            assertEquals(List.of("terminate", "kill"), worker.connection.stopActions());
        }

        @Test
        void a_heartbeat_resets_the_clock() {
            EngineHarness h = harness(javaGroup(1)).startReady();
            FakeWorker worker = h.workers.get("w-1");
            long timeout = HEARTBEAT_TIMEOUT.toNanos();
            long beat = h.ticker.set(h.now() + timeout - 1);
            worker.heartbeat(64 * MIB);

            h.maintainAt(beat + 1); // the old deadline
            h.maintainAt(beat + timeout - 1);
            assertEquals(WorkerState.IDLE, h.snapshot("w-1").state());
            assertEquals(64 * MIB, h.snapshot("w-1").rssBytes());
            assertEquals(List.of(), worker.connection.stopActions());

            h.maintainAt(beat + timeout);
            assertEquals(WorkerState.ZOMBIE, h.snapshot("w-1").state());
        }

        @Test
        void any_frame_is_a_sign_of_life_but_a_stray_stdout_line_is_not() {
            EngineHarness h = harness(commandGroup(1)).startReady();
            FakeWorker worker = h.workers.get("w-1");
            long timeout = HEARTBEAT_TIMEOUT.toNanos();
            TaskRecord task = h.submit("t");

            long answered = h.ticker.set(h.now() + timeout / 2);
            worker.result("t", "1");
            assertEquals(TaskState.SUCCEEDED, task.state);
            h.ticker.set(answered + timeout / 2);
            worker.sendLine("Picked up JAVA_TOOL_OPTIONS: -Xmx1g".getBytes());

            h.maintainAt(answered + timeout - 1);
            assertEquals(WorkerState.IDLE, h.snapshot("w-1").state());
            h.maintainAt(answered + timeout);
            assertEquals(WorkerState.ZOMBIE, h.snapshot("w-1").state());
            assertTrue(worker.connection.output().lines().contains("[stdout] Picked up JAVA_TOOL_OPTIONS: -Xmx1g"));
        }

        @Test
        void the_task_of_a_hung_worker_fails_hung_with_forensics_and_is_retried_on_another_worker() {
            EngineHarness h = harness(javaGroup(2)).startReady();
            TaskRecord task = h.submit("stuck");
            String hungId = task.worker.id;
            FakeWorker hung = h.workers.get(hungId);
            String otherId = hungId.equals("w-1") ? "w-2" : "w-1";
            long start = h.now();
            // the other worker keeps heartbeating; the hung one is silent
            h.ticker.set(start + HEARTBEAT_TIMEOUT.toNanos() - 1);
            h.workers.get(otherId).heartbeat();
            h.maintainAt(start + HEARTBEAT_TIMEOUT.toNanos());
            assertEquals(WorkerState.ZOMBIE, h.snapshot(hungId).state());
            assertEquals(TaskState.RUNNING, task.state, "the task stays with its worker until the worker is dead");

            hung.connection.output().add("\"main\" #1 prio=5 os_prio=0 tid=0x1 nid=0x2 in Object.wait()");
            h.ticker.advanceNanos(THREAD_DUMP_WAIT);
            hung.exit(128 + ExitStatus.SIGTERM);
            assertEquals(TaskState.RETRY_WAIT, task.state);
            AttemptRecord attempt = task.failedAttempts.get(0);
            assertEquals(FailureReason.HUNG, attempt.reason());
            assertEquals(hungId, attempt.workerId());
            assertEquals(hung.pid(), attempt.workerPid());
            assertEquals(ExitStatus.SIGTERM, attempt.signal());
            assertTrue(attempt.stderrTail().stream().anyMatch(l -> l.startsWith("[/proc] State:")),
                    attempt.stderrTail().toString());
            assertTrue(attempt.stderrTail().stream().anyMatch(l -> l.contains("in Object.wait()")));

            h.ticker.set(task.retryAt);
            h.workers.get(otherId).heartbeat();
            h.maintainAt(task.retryAt);
            assertEquals(TaskState.RUNNING, task.state);
            assertEquals(otherId, task.worker.id);
            assertEquals(2, h.workers.get(otherId).lastTask().attempt());
        }
    }

    // ============================================================================================ startup

    @Nested
    class Startup {
        @Test
        void a_worker_that_never_sends_ready_is_killed_at_the_startup_timeout_and_its_ready_future_fails() {
            EngineHarness h = harness(javaGroup(1), b -> b.startupTimeout(Duration.ofSeconds(20)));
            List<WorkerRecord> started = h.engine.start();
            WorkerRecord record = started.get(0);
            FakeWorker worker = h.workers.get("w-1");
            long launched = h.now();
            worker.heartbeat(); // a heartbeat is not a ready

            h.maintainAt(launched + Duration.ofSeconds(20).toNanos() - 1);
            assertEquals(WorkerState.STARTING, h.snapshot("w-1").state());
            assertEquals(List.of(), worker.connection.stopActions());
            assertFalse(record.ready.isDone());

            h.maintainAt(launched + Duration.ofSeconds(20).toNanos());
            assertEquals(List.of("closeStdin", "kill"), worker.connection.stopActions());

            worker.exit(128 + ExitStatus.SIGKILL);
            assertTrue(record.ready.isCompletedExceptionally());
            ExecutionException thrown = assertThrows(ExecutionException.class, record.ready::get);
            WorkerStartupException startup = assertInstanceOf(WorkerStartupException.class, thrown.getCause());
            assertTrue(startup.getMessage().contains("did not send ready"), startup.getMessage());
            assertTrue(startup.getMessage().contains("w-1"), startup.getMessage());
            assertFalse(h.hasWorker("w-1"));
        }

        @Test
        void no_task_is_sent_before_ready_and_a_task_frame_before_ready_is_a_protocol_error() {
            EngineHarness h = harness(commandGroup(1)).start();
            h.engine.markRunning();
            TaskRecord task = h.submit("early");
            FakeWorker worker = h.workers.get("w-1");
            assertEquals(TaskState.QUEUED, task.state);
            assertEquals(List.of(), worker.tasks());

            worker.result("early", "1"); // an answer before ready
            assertEquals(List.of("closeStdin", "kill"), worker.connection.stopActions());
            worker.exit(128 + ExitStatus.SIGKILL);
            assertEquals(TaskState.QUEUED, task.state, "the task never ran, so nothing was used up");
            assertEquals(0, task.attempts);
        }

        @Test
        void a_program_that_cannot_be_launched_fails_its_ready_future_at_once() {
            EngineHarness h = harness(commandGroup(1));
            h.workers.failNextLaunch(new IOException("error=2, No such file or directory"));
            WorkerRecord record = h.engine.start().get(0);
            ExecutionException thrown = assertThrows(ExecutionException.class, record.ready::get);
            WorkerStartupException startup = assertInstanceOf(WorkerStartupException.class, thrown.getCause());
            assertTrue(startup.getMessage().contains("No such file or directory"), startup.getMessage());
            assertTrue(startup.getMessage().contains("fake-worker"), startup.getMessage());
            assertFalse(h.hasWorker("w-1"));
        }

        @Test
        void after_three_start_failures_in_a_row_with_no_worker_ready_the_tasks_fail_and_new_ones_are_refused() {
            EngineHarness h = harness(commandGroup(1)).startReady();
            TaskRecord running = h.submit("running");
            TaskRecord queued = h.submit("queued");
            long at = h.now();
            h.workers.get("w-1").exit(1); // the running task is retried (WORKER_CRASHED); the worker is replaced
            for (int i = 2; i <= 4; i++) {
                at = h.maintainAt(at + Duration.ofSeconds(2).toNanos()); // past any restart backoff
                FakeWorker replacement = h.workers.get("w-" + i);
                replacement.stderr("cannot load the model");
                replacement.exit(3); // before ready
                if (i < 4) {
                    assertEquals(TaskState.QUEUED, queued.state, "not yet: " + (i - 1) + " start failure(s)");
                }
            }
            for (TaskRecord task : List.of(running, queued)) {
                assertEquals(TaskState.FAILED, task.state, task.id);
                TaskFailedException failure = failure(task);
                assertEquals(FailureReason.STARTUP_FAILURE, failure.reason());
                assertTrue(failure.getMessage().contains("exit code 3"), failure.getMessage());
                assertTrue(failure.getMessage().contains("cannot load the model"), failure.getMessage());
            }
            TaskRejectedException refused = assertThrows(TaskRejectedException.class, () -> h.submit("later"));
            assertEquals(TaskRejectedException.Kind.WORKERS_CANNOT_START, refused.kind());
            assertTrue(refused.getMessage().contains("cannot load the model"), refused.getMessage());

            h.maintainAt(at + Duration.ofSeconds(40).toNanos()); // the group keeps trying, at the backoff's pace
            h.workers.last().ready();
            assertEquals(TaskState.RUNNING, h.submit("after").state, "a ready worker lifts the refusal");
        }
    }

    // ============================================================================================ task timeouts

    @Nested
    class TaskTimeouts {
        private TaskRecord submitSlow(EngineHarness h) {
            return h.submit(TaskRequest.of("work", "slow").withId("slow").withTimeout(Duration.ofSeconds(5)));
        }

        @Test
        void startup_time_never_counts_the_deadline_runs_from_dispatch() {
            EngineHarness h = harness(commandGroup(1)).start();
            h.engine.markRunning();
            FakeWorker worker = h.workers.get("w-1");
            TaskRecord task = submitSlow(h);

            h.advance(Duration.ofSeconds(30)); // the worker takes 30 s to start; the task has a 5 s timeout
            assertEquals(TaskState.QUEUED, task.state);
            assertEquals(List.of(), worker.cancels());
            worker.ready();
            long dispatched = h.now();
            assertEquals(TaskState.RUNNING, task.state);
            Frame.Task frame = worker.lastTask();
            assertEquals(1, frame.attempt());
            assertEquals(5_000, frame.timeoutMs());

            h.maintainAt(dispatched + Duration.ofSeconds(5).toNanos() - 1);
            assertEquals(List.of(), worker.cancels());
            h.maintainAt(dispatched + Duration.ofSeconds(5).toNanos());
            assertEquals(List.of("slow"), worker.cancels());
        }

        @Test
        void a_worker_that_answers_the_cancel_within_the_grace_is_kept_and_the_task_fails_timeout() {
            EngineHarness h = harness(commandGroup(1)).startReady();
            FakeWorker worker = h.workers.get("w-1");
            TaskRecord task = submitSlow(h);
            long deadline = h.now() + Duration.ofSeconds(5).toNanos();

            h.maintainAt(deadline);
            assertEquals(List.of("slow"), worker.cancels());
            assertEquals(TaskState.RUNNING, task.state);
            assertFalse(task.future.isDone());

            h.ticker.set(deadline + CANCEL_GRACE.toNanos() - 1);
            worker.error("slow", "HANDLER_ERROR", true); // "cancelled"
            assertEquals(TaskState.FAILED, task.state);
            TaskFailedException failed = failure(task);
            assertEquals(FailureReason.TIMEOUT, failed.reason());
            assertEquals(1, failed.attempts());
            assertEquals(FailureReason.TIMEOUT, failed.failedAttempts().get(0).reason());

            h.maintainAt(deadline + CANCEL_GRACE.toNanos());
            for (int s = 1; s <= 30; s++) { // well past every grace period, heartbeating
                h.ticker.advance(Duration.ofSeconds(1));
                worker.heartbeat();
                h.maintainAt(h.now());
            }
            assertEquals(List.of(), worker.connection.stopActions());
            assertEquals(WorkerState.IDLE, h.snapshot("w-1").state());
            assertEquals(0, h.engine.counters().restarts);

            TaskRecord next = h.submit("next");
            assertEquals(TaskState.RUNNING, next.state);
            assertEquals("w-1", next.worker.id, "the worker that ended its task in time serves the next one");
        }

        @Test
        void a_worker_that_does_not_answer_within_the_grace_is_terminated_and_the_task_fails_timeout() {
            EngineHarness h = harness(commandGroup(1)).startReady();
            FakeWorker worker = h.workers.get("w-1");
            TaskRecord task = submitSlow(h);
            long deadline = h.now() + Duration.ofSeconds(5).toNanos();
            h.maintainAt(deadline);
            worker.heartbeat(); // alive, just not ending the task

            h.maintainAt(deadline + CANCEL_GRACE.toNanos() - 1);
            assertEquals(List.of(), worker.connection.stopActions());
            h.maintainAt(deadline + CANCEL_GRACE.toNanos());
            assertEquals(List.of("terminate"), worker.connection.stopActions());
            assertEquals(WorkerState.ZOMBIE, h.snapshot("w-1").state());
            assertEquals(TaskState.RUNNING, task.state, "the task is released only when its worker is dead");

            worker.exit(128 + ExitStatus.SIGTERM);
            assertEquals(TaskState.FAILED, task.state);
            assertEquals(FailureReason.TIMEOUT, failure(task).reason());
            AttemptRecord attempt = task.failedAttempts.get(0);
            assertEquals(FailureReason.TIMEOUT, attempt.reason());
            assertEquals(ExitStatus.SIGTERM, attempt.signal());
            assertEquals(Duration.ofSeconds(7), attempt.duration());
        }
    }

    // ============================================================================================ retries

    @Nested
    class Retries {
        @Test
        void maintenance_returns_the_time_until_the_next_restart_and_the_next_retry() {
            EngineHarness h = harness(commandGroup(1)).startReady();
            assertEquals(HEARTBEAT_TIMEOUT.toNanos(), h.engine.maintain(h.now()),
                    "with nothing pending, the worker's heartbeat deadline is next");
            TaskRecord task = h.submit(TaskRequest.of("work", 1).withId("t").withRetryPolicy(BACKOFF_FROM_FIRST_CRASH));
            long crashedAt = h.ticker.advance(Duration.ofMillis(5));
            h.workers.get("w-1").exit(128 + ExitStatus.SIGKILL);
            assertEquals(TaskState.RETRY_WAIT, task.state);
            long restartAt = crashedAt + RestartPolicy.defaults().initialDelay().toNanos();
            assertTrue(restartAt < task.retryAt, "the replacement starts before the retry is due");
            assertEquals(restartAt - crashedAt, h.engine.maintain(crashedAt), "first the replacement's start");
            h.maintainAt(restartAt);
            h.workers.get("w-2").ready();
            assertEquals(task.retryAt - restartAt, h.engine.maintain(restartAt), "then the retry");
            h.maintainAt(task.retryAt);
            assertEquals(TaskState.RUNNING, task.state);
        }

        @Test
        void maintenance_is_woken_only_when_something_falls_due_before_it_planned_to_look() {
            EngineHarness h = harness(commandGroup(1)).startReady();
            h.engine.maintain(h.now()); // plans to look at the heartbeat deadline, 10 s from now
            int before = h.wakes.get();
            h.submit(TaskRequest.of("work", "a").withId("a").withTimeout(Duration.ofSeconds(1)));
            assertEquals(before + 1, h.wakes.get(), "a timeout in 1 s is sooner: maintenance is woken");
            h.workers.get("w-1").result("a", "1");
            h.submit(TaskRequest.of("work", "b").withId("b").withTimeout(Duration.ofSeconds(5)));
            assertEquals(before + 1, h.wakes.get(), "a timeout in 5 s is later than what is planned: no wake-up");
            assertEquals(Duration.ofSeconds(5).toNanos(), h.engine.maintain(h.now()),
                    "a ended in time: b's timeout is what maintenance looks at next");
        }

        @Test
        void a_crashing_task_is_retried_after_the_backoff_with_the_attempt_number_and_then_dead_lettered() {
            EngineHarness h = harness(commandGroup(2)).startReady();
            RetryPolicy policy = BACKOFF_FROM_FIRST_CRASH;
            TaskRecord task = h.submit(TaskRequest.of("work", "poison").withId("poison").withRetryPolicy(policy));
            List<String> workerIds = new ArrayList<>();
            List<Long> pids = new ArrayList<>();
            int[] exitCodes = {1, 128 + ExitStatus.SIGKILL, 128 + 6};

            for (int attempt = 1; attempt <= 3; attempt++) {
                assertEquals(TaskState.RUNNING, task.state);
                FakeWorker worker = h.workers.get(task.worker.id);
                assertFalse(workerIds.contains(worker.id), "a retry never runs on a worker that died");
                assertEquals(attempt, worker.lastTask().attempt());
                assertEquals("poison", worker.lastTask().id());
                workerIds.add(worker.id);
                pids.add(worker.pid());
                worker.stderr("crash number " + attempt);

                long crashedAt = h.ticker.advance(Duration.ofMillis(250));
                worker.exit(exitCodes[attempt - 1]);
                // replacements become ready as soon as they are launched
                h.workers.all().stream().filter(w -> h.hasWorker(w.id)
                        && h.snapshot(w.id).state() == WorkerState.STARTING).forEach(FakeWorker::ready);
                if (attempt == 3) {
                    break;
                }
                assertEquals(TaskState.RETRY_WAIT, task.state);
                long delay = Backoff.delayNanos(attempt, policy.initialDelay().toNanos(), policy.multiplier(),
                        policy.maxDelay().toNanos(), policy.jitter(), EngineHarness.RANDOM);
                assertEquals(Duration.ofMillis(100L << (attempt - 1)).toNanos(), delay, "zero jitter at 0.5");
                assertEquals(crashedAt + delay, task.retryAt);

                h.maintainAt(crashedAt + delay - 1);
                assertEquals(TaskState.RETRY_WAIT, task.state);
                // replacements are launched on the same schedule; make the due ones ready
                h.maintainAt(crashedAt + delay);
                h.workers.all().stream().filter(w -> h.hasWorker(w.id)
                        && h.snapshot(w.id).state() == WorkerState.STARTING).forEach(FakeWorker::ready);
            }

            assertEquals(TaskState.DEAD_LETTERED, task.state);
            TaskFailedException failed = failure(task);
            assertEquals(FailureReason.WORKER_CRASHED, failed.reason());
            assertEquals(3, failed.attempts());
            DeadLetter letter = h.deadLetters.get("poison").orElseThrow();
            assertEquals(3, letter.attempts().size());
            assertEquals("\"poison\"", letter.payloadJson());
            for (int i = 0; i < 3; i++) {
                AttemptRecord attempt = letter.attempts().get(i);
                assertEquals(i + 1, attempt.attempt());
                assertEquals(workerIds.get(i), attempt.workerId());
                assertEquals(pids.get(i), attempt.workerPid());
                assertEquals(FailureReason.WORKER_CRASHED, attempt.reason());
                assertEquals(exitCodes[i], attempt.exitCode());
                assertEquals(Duration.ofMillis(250), attempt.duration());
                assertTrue(attempt.stderrTail().contains("crash number " + (i + 1)), attempt.stderrTail().toString());
            }
            assertNull(letter.attempts().get(0).signal());
            assertEquals(ExitStatus.SIGKILL, letter.attempts().get(1).signal());
            assertEquals(6, letter.attempts().get(2).signal());
            Counters counters = h.engine.counters();
            assertEquals(2, counters.retried);
            assertEquals(1, counters.deadLettered);
            assertEquals(3L, counters.failuresByReason.get(FailureReason.WORKER_CRASHED));
        }

        @Test
        void a_retry_waits_without_holding_a_worker_or_blocking_other_tasks() {
            EngineHarness h = harness(commandGroup(2)).startReady();
            TaskRecord task = h.submit(TaskRequest.of("work", 1).withId("flaky")
                    .withRetryPolicy(BACKOFF_FROM_FIRST_CRASH));
            FakeWorker crashed = h.workers.get(task.worker.id);
            crashed.exit(1);
            assertEquals(TaskState.RETRY_WAIT, task.state);

            TaskRecord other = h.submit("other");
            assertEquals(TaskState.RUNNING, other.state, "another task runs while the first waits to be retried");
            assertEquals(1, h.engine.counters().retried);
        }

        @Test
        void a_task_whose_frame_the_dead_workers_pipe_refused_is_retried_at_once_and_the_attempt_counts() {
            EngineHarness h = harness(commandGroup(2)).startReady();
            TaskRecord busy = h.submit("busy"); // keeps w-1 busy, so the next task goes to w-2
            FakeWorker dead = h.workers.get("w-2");
            dead.connection.refuseFromNowOn(); // killed: its end of the pipe is closed, the pool has not seen it
            TaskRecord task = h.submit("sent-to-the-dead");
            assertEquals("w-2", task.worker.id);
            h.workers.get(busy.worker.id).results("busy");
            dead.exit(137);

            assertEquals(TaskState.RUNNING, task.state, "retried at once, with no backoff, on the live worker");
            assertEquals("w-1", task.worker.id);
            assertEquals(2, task.attempts, "the lost attempt counts, as every lost attempt does");
            AttemptRecord lost = task.failedAttempts.get(0);
            assertEquals(FailureReason.WORKER_CRASHED, lost.reason());
            assertTrue(lost.detail().contains("never reached it"), lost.detail());

            TaskRecord other = h.submit("other");
            FakeWorker live = h.workers.get("w-1");
            live.results("sent-to-the-dead");
            assertEquals(TaskState.SUCCEEDED, task.state);
            assertEquals(TaskState.RUNNING, other.state);
        }

        @Test
        void a_task_whose_worker_died_under_it_is_retried_at_once_the_first_time_and_after_the_backoff_the_second() {
            EngineHarness h = harness(commandGroup(3)).startReady();
            TaskRecord task = h.submit("written");
            String first = task.worker.id;
            h.workers.get(first).exit(137); // the frame was written: it may have run, and killed its worker

            assertEquals(TaskState.RUNNING, task.state, "the first crash is retried at once on another worker");
            assertNotEquals(first, task.worker.id);
            assertEquals(2, task.attempts, "the attempt counts all the same");

            h.workers.get(task.worker.id).exit(137);
            assertEquals(TaskState.RETRY_WAIT, task.state, "a second crash waits the backoff");
        }

        @Test
        void with_first_crash_at_once_switched_off_a_task_written_to_a_worker_that_then_died_waits_its_backoff() {
            EngineHarness h = harness(commandGroup(2)).startReady();
            RetryPolicy backoffAlways = RetryPolicy.builder().retryFirstCrashAtOnce(false).build();
            TaskRecord task = h.submit(TaskRequest.of("work", 1).withId("written").withRetryPolicy(backoffAlways));
            h.workers.get(task.worker.id).exit(137);
            assertEquals(TaskState.RETRY_WAIT, task.state);
        }

        @Test
        void a_first_failure_that_is_not_a_crash_waits_its_backoff() {
            EngineHarness h = harness(commandGroup(2)).startReady();
            RetryPolicy policy = RetryPolicy.builder().alsoRetryOn(FailureReason.HANDLER_ERROR).build();
            TaskRecord task = h.submit(TaskRequest.of("work", 1).withId("erring").withRetryPolicy(policy));
            h.workers.get(task.worker.id).error("erring", "HANDLER_ERROR", true);
            assertEquals(TaskState.RETRY_WAIT, task.state);
        }

        @Test
        void a_delayed_task_waits_for_its_time_without_holding_a_worker_and_maintenance_wakes_for_it() {
            EngineHarness h = harness(commandGroup(1)).startReady();
            TaskRecord later = h.submit(TaskRequest.of("work", 1).withId("later")
                    .withNotBefore(java.time.Instant.now().plusSeconds(2)));
            assertEquals(TaskState.SCHEDULED, later.state);
            TaskRecord now = h.submit("now");
            assertEquals(TaskState.RUNNING, now.state, "a delayed task holds no worker");
            h.workers.get("w-1").results("now");

            long start = h.now();
            long due = h.engine.maintain(start);
            assertTrue(due > Duration.ofMillis(1900).toNanos() && due <= Duration.ofSeconds(2).toNanos(),
                    "maintenance sleeps until the task is due, not longer: " + due);
            h.maintainAt(start + Duration.ofMillis(1800).toNanos());
            assertEquals(TaskState.SCHEDULED, later.state, "not yet");
            h.maintainAt(start + Duration.ofSeconds(2).toNanos());
            assertEquals(TaskState.RUNNING, later.state);
            assertEquals(1, h.workers.get("w-1").lastTask().attempt(), "waiting is no attempt");
        }

        @Test
        void a_delayed_task_can_be_cancelled_and_shutdown_now_returns_it_as_never_started() {
            EngineHarness h = harness(commandGroup(1)).startReady();
            TaskRecord cancelled = h.submit(TaskRequest.of("work", 1).withId("c").withDelay(Duration.ofHours(1)));
            TaskRecord dropped = h.submit(TaskRequest.of("work", 2).withId("d").withDelay(Duration.ofHours(1)));
            assertTrue(h.engine.cancel(cancelled));
            assertEquals(TaskState.CANCELLED, cancelled.state);
            List<TaskRequest> neverStarted = h.engine.shutdownNow();
            assertEquals(List.of("d"), neverStarted.stream().map(r -> r.id().orElseThrow()).toList());
            assertEquals(TaskState.CANCELLED, dropped.state);
        }

        @Test
        void a_handler_error_is_not_retried_by_default_and_the_worker_is_kept() {
            EngineHarness h = harness(commandGroup(1)).startReady();
            FakeWorker worker = h.workers.get("w-1");
            TaskRecord task = h.submit("bad-input");
            worker.error("bad-input", "HANDLER_ERROR", true);

            assertEquals(TaskState.FAILED, task.state, "an expected failure ends the task; it is no dead letter");
            assertEquals(0, h.deadLetters.size());
            TaskFailedException failed = failure(task);
            assertEquals(FailureReason.HANDLER_ERROR, failed.reason());
            assertEquals(1, failed.attempts());
            assertEquals("com.example.Boom", failed.remoteError().orElseThrow().className());
            AttemptRecord attempt = failed.failedAttempts().get(0);
            assertEquals("it broke", attempt.remoteError().message());
            assertNull(attempt.exitCode());
            assertEquals(WorkerState.IDLE, h.snapshot("w-1").state());
            assertEquals(1, h.snapshot("w-1").tasksServed());
            assertEquals(List.of(), worker.connection.stopActions());
        }

        @Test
        void a_handler_error_is_retried_when_the_policy_says_so() {
            EngineHarness h = harness(commandGroup(1)).startReady();
            RetryPolicy policy = RetryPolicy.builder().alsoRetryOn(FailureReason.HANDLER_ERROR).build();
            TaskRecord task = h.submit(TaskRequest.of("work", 1).withId("r").withRetryPolicy(policy));
            long failedAt = h.now();
            h.workers.get("w-1").error("r", "HANDLER_ERROR", true);
            assertEquals(TaskState.RETRY_WAIT, task.state);

            h.maintainAt(failedAt + Duration.ofMillis(100).toNanos());
            assertEquals(TaskState.RUNNING, task.state);
            assertEquals(2, h.workers.get("w-1").lastTask().attempt(), "the same, kept worker sees attempt 2");
        }

        @Test
        void an_error_marked_not_retryable_is_never_retried_even_if_its_reason_is_in_retry_on() {
            EngineHarness h = harness(commandGroup(1)).startReady();
            RetryPolicy policy = RetryPolicy.builder().alsoRetryOn(FailureReason.HANDLER_ERROR).maxAttempts(5).build();
            TaskRecord task = h.submit(TaskRequest.of("work", 1).withId("nr").withRetryPolicy(policy));
            h.workers.get("w-1").error("nr", "HANDLER_ERROR", false);

            assertEquals(TaskState.FAILED, task.state, "not retried by the worker's word: not a poison suspect");
            assertEquals(1, failure(task).attempts());
            assertEquals(0, h.engine.counters().retried);
        }

        @Test
        void an_unknown_task_type_error_is_never_retried() {
            EngineHarness h = harness(commandGroup(1)).startReady();
            TaskRecord task = h.submit("odd");
            h.workers.get("w-1").error("odd", "UNKNOWN_TASK_TYPE", true);
            assertEquals(FailureReason.UNKNOWN_TASK_TYPE, failure(task).reason());
            assertEquals(TaskState.FAILED, task.state);
        }

        @Test
        void a_reported_out_of_memory_error_replaces_the_worker_and_is_retried() {
            EngineHarness h = harness(commandGroup(1)).startReady();
            FakeWorker worker = h.workers.get("w-1");
            TaskRecord task = h.submit("big");
            worker.error("big", "OUT_OF_MEMORY", true);
            assertEquals(TaskState.RETRY_WAIT, task.state);
            assertEquals(FailureReason.OUT_OF_MEMORY, task.failedAttempts.get(0).reason());
            assertEquals(List.of("closeStdin"), worker.connection.stopActions());
            assertEquals(WorkerState.RETIRING, h.snapshot("w-1").state());
        }

        @Test
        void a_task_the_pool_gave_up_retrying_is_dead_lettered_with_every_attempt() {
            EngineHarness h = harness(commandGroup(1)).startReady();
            RetryPolicy policy = RetryPolicy.builder().maxAttempts(2).initialDelay(Duration.ofMillis(10)).build();
            TaskRecord task = h.submit(TaskRequest.of("work", 1).withId("poison").withRetryPolicy(policy));
            long at = h.now();
            h.workers.get("w-1").exit(128 + ExitStatus.SIGKILL);
            h.maintainAt(at + Duration.ofSeconds(1).toNanos());
            h.workers.get("w-2").ready();
            h.maintainAt(at + Duration.ofSeconds(2).toNanos());
            h.workers.get("w-2").exit(128 + ExitStatus.SIGKILL);
            assertEquals(TaskState.DEAD_LETTERED, task.state);
            assertEquals(2, h.deadLetters.get("poison").orElseThrow().attempts().size());
            assertEquals(2, failure(task).failedAttempts().size());
            assertEquals(1, h.engine.counters().deadLettered);
            assertEquals(0, h.engine.counters().failed);
        }

        @Test
        void with_a_dead_letter_capacity_of_zero_a_task_the_pool_gave_up_retrying_ends_failed() {
            EngineHarness h = harness(commandGroup(1), b -> b.deadLetterCapacity(0)).startReady();
            RetryPolicy once = RetryPolicy.builder().maxAttempts(1).build();
            TaskRecord task = h.submit(TaskRequest.of("work", 1).withId("lost").withRetryPolicy(once));
            h.workers.get("w-1").exit(128 + ExitStatus.SIGKILL);
            assertEquals(TaskState.FAILED, task.state);
            assertEquals(FailureReason.WORKER_CRASHED, failure(task).reason());
            assertEquals(0, h.deadLetters.size());
            assertEquals(1, h.engine.counters().failed);
        }
    }

    // ============================================================================================ restarts

    @Nested
    class Restarts {
        private final RestartPolicy policy = RestartPolicy.builder().initialDelay(Duration.ofMillis(100))
                .multiplier(2).maxDelay(Duration.ofSeconds(30)).jitter(0.2).maxRestarts(3)
                .window(Duration.ofSeconds(60)).build();

        @Test
        void consecutive_deaths_get_growing_delays_and_too_many_turn_the_pool_degraded_until_the_window_passes() {
            EngineHarness h = harness(commandGroup(1), b -> b.restartPolicy(policy)).startReady();
            long[] deaths = new long[4];
            for (int i = 0; i < 3; i++) {
                FakeWorker current = h.workers.last();
                deaths[i] = h.ticker.advance(Duration.ofSeconds(1));
                current.exit(1);
                assertFalse(h.hasWorker(current.id));
                long delay = Duration.ofMillis(100L << i).toNanos();
                int launched = h.workers.count();

                h.maintainAt(deaths[i] + delay - 1);
                assertEquals(launched, h.workers.count(), "replacement " + (i + 1) + " launched early");
                assertEquals(PoolState.RUNNING, h.engine.state());
                h.maintainAt(deaths[i] + delay);
                assertEquals(launched + 1, h.workers.count(), "replacement " + (i + 1) + " not launched when due");
                h.workers.last().ready();
            }
            assertEquals(HealthStatus.HEALTHY, h.engine.health().status());

            // the fourth restart within the window exceeds maxRestarts = 3
            deaths[3] = h.ticker.advance(Duration.ofSeconds(1));
            h.workers.last().exit(1);
            assertEquals(PoolState.DEGRADED, h.engine.state());
            PoolHealth health = h.engine.health();
            assertNotEquals(HealthStatus.HEALTHY, health.status());
            assertTrue(health.alerts().stream().anyMatch(a -> a.contains("restart intensity")), health.alerts().toString());
            assertEquals(4, h.engine.counters().restarts);

            // while degraded, replacements come at maxDelay pace
            int launched = h.workers.count();
            h.maintainAt(deaths[3] + policy.maxDelay().toNanos() - 1);
            assertEquals(launched, h.workers.count());
            h.maintainAt(deaths[3] + policy.maxDelay().toNanos());
            assertEquals(launched + 1, h.workers.count());
            h.workers.last().ready();
            health = h.engine.health();
            assertEquals(HealthStatus.DEGRADED, health.status(), "a worker is ready, restarts are still too many");
            assertTrue(health.alerts().stream().anyMatch(a -> a.contains("restart intensity")), health.alerts().toString());

            // the first restart leaves the window: 3 restarts within it is within the limit
            long window = policy.window().toNanos();
            h.ticker.set(deaths[0] + window - 1);
            h.workers.last().heartbeat();
            h.maintainAt(deaths[0] + window - 1);
            assertEquals(PoolState.DEGRADED, h.engine.state());
            h.maintainAt(deaths[0] + window);
            assertEquals(PoolState.RUNNING, h.engine.state());
            assertEquals(new PoolHealth(HealthStatus.HEALTHY, List.of()), h.engine.health());

            await().atMost(Duration.ofSeconds(10)).until(() -> events(h, PoolEvent.WorkerRestarting.class).size() == 4);
            assertEquals(List.of(Duration.ofMillis(100), Duration.ofMillis(200), Duration.ofMillis(400),
                            policy.maxDelay()),
                    events(h, PoolEvent.WorkerRestarting.class).stream().map(PoolEvent.WorkerRestarting::delay).toList());
        }

        @Test
        void a_worker_that_stays_up_for_the_window_resets_the_backoff() {
            EngineHarness h = harness(commandGroup(1), b -> b.restartPolicy(policy)).startReady();
            long death = h.ticker.advance(Duration.ofSeconds(1));
            h.workers.last().exit(1);
            h.maintainAt(death + Duration.ofMillis(100).toNanos());
            long readyAt = h.now();
            h.workers.last().ready();
            death = h.ticker.advance(Duration.ofSeconds(1));
            h.workers.last().exit(1);
            h.maintainAt(death + Duration.ofMillis(200).toNanos());
            FakeWorker stable = h.workers.last().ready();
            readyAt = h.now();

            // it lives a whole window, heartbeating
            for (int s = 1; s <= 60; s++) {
                h.ticker.set(readyAt + s * SECOND);
                stable.heartbeat();
                h.maintainAt(readyAt + s * SECOND);
            }
            death = h.ticker.advance(Duration.ofSeconds(1));
            stable.exit(1);
            int launched = h.workers.count();
            h.maintainAt(death + Duration.ofMillis(100).toNanos());
            assertEquals(launched + 1, h.workers.count(), "the backoff started over at the initial delay");
        }

        @Test
        void a_recycled_or_shut_down_worker_is_not_a_restart() {
            EngineHarness h = harness(commandGroup(1)).startReady();
            h.engine.shutdown();
            FakeWorker worker = h.workers.get("w-1");
            assertEquals(1, worker.shutdowns());
            worker.exit(0);
            assertEquals(PoolState.TERMINATED, h.engine.state());
            assertEquals(0, h.engine.counters().restarts);
            assertEquals(1, h.workers.count());
        }
    }

    // ============================================================================================ memory gate

    @Nested
    class MemoryGate {
        @Test
        void a_due_replacement_waits_while_memory_is_above_the_threshold_and_starts_when_it_falls() {
            EngineHarness h = harness(commandGroup(1), b -> b.spawnMemoryThreshold(0.75)).startReady();
            h.memory.usage(0.90);
            long death = h.ticker.advance(Duration.ofSeconds(1));
            h.workers.get("w-1").exit(1);

            h.maintainAt(death + Duration.ofMillis(100).toNanos()); // due, but the gate is closed
            assertEquals(1, h.workers.count());
            PoolHealth health = h.engine.health();
            assertTrue(health.alerts().stream().anyMatch(a -> a.startsWith("memory gate closed")),
                    health.alerts().toString());
            String alert = health.alerts().stream().filter(a -> a.startsWith("memory gate closed")).findFirst()
                    .orElseThrow();
            assertTrue(alert.contains("90 %") && alert.contains("75 %") && alert.contains("1 worker starts waiting"),
                    alert);

            h.advance(Duration.ofMinutes(5));
            assertEquals(1, h.workers.count(), "no worker starts while the gate is closed");

            h.memory.usage(0.50);
            h.advance(Duration.ofMillis(1));
            assertEquals(2, h.workers.count());
            assertEquals(WorkerState.STARTING, h.snapshot("w-2").state());
            assertTrue(h.engine.health().alerts().stream().noneMatch(a -> a.startsWith("memory gate")));
        }

        @Test
        void exactly_at_the_threshold_the_gate_stays_open() {
            EngineHarness h = harness(commandGroup(1), b -> b.spawnMemoryThreshold(0.75)).startReady();
            h.memory.usage(0.75);
            long death = h.ticker.advance(Duration.ofSeconds(1));
            h.workers.get("w-1").exit(1);
            h.maintainAt(death + Duration.ofMillis(100).toNanos());
            assertEquals(2, h.workers.count());
        }
    }

    // ============================================================================================ recycling

    @Nested
    class Recycling {
        @Test
        void after_its_spread_task_limit_a_worker_gets_a_shutdown_frame_once_idle_and_is_replaced_at_once() {
            // recycleAfterTasks(20) spread by 1 - 0.1 × 0.5: this worker recycles after 19 tasks
            EngineHarness h = harness(commandGroupBuilder(1).recycleAfterTasks(20).build()).startReady();
            FakeWorker worker = h.workers.get("w-1");
            for (int i = 1; i <= 18; i++) {
                h.submit("t" + i);
                worker.result("t" + i, Integer.toString(i));
            }
            assertEquals(0, worker.shutdowns());
            assertEquals(1, h.workers.count());

            TaskRecord last = h.submit("t19");
            assertEquals("w-1", last.worker.id);
            worker.result("t19", "19");
            assertEquals(TaskState.SUCCEEDED, last.state);
            assertEquals(1, worker.shutdowns());
            assertTrue(worker.connection.stopActions().contains("closeStdin"));
            assertEquals(WorkerState.RETIRING, h.snapshot("w-1").state());
            assertEquals(2, h.workers.count(), "the replacement starts at once, without waiting for maintenance");

            TaskRecord waiting = h.submit("t20");
            assertEquals(TaskState.QUEUED, waiting.state, "a retiring worker takes no new task");
            worker.exit(0);
            assertEquals(2, h.workers.count(), "the retired worker's exit launches nothing more");
            h.workers.get("w-2").ready();
            assertEquals("w-2", waiting.worker.id);
            assertEquals(0, h.engine.counters().restarts, "recycling is not a restart");
            assertEquals(PoolState.RUNNING, h.engine.state());
        }

        @Test
        void after_its_spread_age_an_idle_worker_is_recycled() {
            // recycleAfterAge(60 s) spread by 5 %: 57 s after launch
            EngineHarness h = harness(commandGroupBuilder(1).recycleAfterAge(Duration.ofSeconds(60)).build());
            long launched = h.now();
            h.startReady();
            FakeWorker worker = h.workers.get("w-1");
            for (int s = 1; s < 57; s++) {
                h.ticker.set(launched + s * SECOND);
                worker.heartbeat();
            }
            h.maintainAt(launched + Duration.ofSeconds(57).toNanos() - 1);
            assertEquals(0, worker.shutdowns());
            h.maintainAt(launched + Duration.ofSeconds(57).toNanos());
            assertEquals(1, worker.shutdowns());
            assertEquals(2, h.workers.count());
            assertEquals(0, h.engine.counters().restarts);
        }

        @Test
        void over_the_soft_memory_limit_a_worker_finishes_its_task_then_retires() {
            EngineHarness h = harness(commandGroupBuilder(1).memorySoftLimitBytes(100 * MIB)
                    .memoryHardLimitBytes(200 * MIB).build()).startReady();
            FakeWorker worker = h.workers.get("w-1");
            TaskRecord task = h.submit("grow");

            h.engine.recordSamples(Map.of("w-1", 150 * MIB), java.util.Set.of());
            assertEquals(0, worker.shutdowns(), "not while the task runs");
            assertEquals(List.of(), worker.connection.stopActions());
            assertEquals(TaskState.RUNNING, task.state);
            assertEquals(2, h.workers.count(), "the replacement starts at once");

            worker.result("grow", "true");
            assertEquals(TaskState.SUCCEEDED, task.state);
            assertEquals(1, worker.shutdowns());
            assertEquals(WorkerState.RETIRING, h.snapshot("w-1").state());
            worker.exit(0);
            assertEquals(2, h.workers.count());
            assertEquals(0, h.engine.counters().restarts);
        }

        @Test
        void a_heartbeat_reporting_rss_over_the_soft_limit_retires_an_idle_worker_at_once() {
            EngineHarness h = harness(commandGroupBuilder(1).memorySoftLimitBytes(100 * MIB).build()).startReady();
            FakeWorker worker = h.workers.get("w-1");
            worker.heartbeat(101 * MIB);
            assertEquals(1, worker.shutdowns());
            assertEquals(2, h.workers.count());
        }

        @Test
        void over_the_hard_memory_limit_a_worker_is_killed_at_once_and_its_task_fails_out_of_memory() {
            EngineHarness h = harness(commandGroupBuilder(1).memorySoftLimitBytes(100 * MIB)
                    .memoryHardLimitBytes(200 * MIB).build()).startReady();
            FakeWorker worker = h.workers.get("w-1");
            TaskRecord task = h.submit(TaskRequest.of("work", 1).withId("hog").withRetryPolicy(RetryPolicy.none()));

            h.engine.recordSamples(Map.of("w-1", 250 * MIB), java.util.Set.of());
            assertEquals(List.of("closeStdin", "kill"), worker.connection.stopActions());
            assertEquals(TaskState.RUNNING, task.state);

            worker.exit(128 + ExitStatus.SIGKILL);
            assertEquals(TaskState.DEAD_LETTERED, task.state);
            assertEquals(FailureReason.OUT_OF_MEMORY, failure(task).reason());
            AttemptRecord attempt = task.failedAttempts.get(0);
            assertEquals(FailureReason.OUT_OF_MEMORY, attempt.reason());
            assertEquals(250 * MIB, attempt.peakRssBytes());
            assertEquals(ExitStatus.SIGKILL, attempt.signal());
            assertEquals(1, h.engine.counters().restarts, "a memory kill is a failure, replaced with backoff");
        }
    }

    // ============================================================================================ exactly once

    @Nested
    class ExactlyOnce {
        @Test
        void a_result_for_a_cancelled_task_does_not_complete_it_again_and_the_worker_is_kept() {
            EngineHarness h = harness(commandGroup(1)).startReady();
            FakeWorker worker = h.workers.get("w-1");
            TaskRecord task = h.submit("c");
            assertTrue(h.engine.cancel(task));
            assertEquals(List.of("c"), worker.cancels());
            assertEquals(TaskState.CANCELLED, task.state);
            assertEquals(FailureReason.CANCELLED, failure(task).reason());
            assertFalse(h.engine.cancel(task), "a second cancel ends nothing");

            TaskRecord queued = h.submit("q");
            assertEquals(TaskState.QUEUED, queued.state, "the cancelled task holds its slot until answered");

            worker.result("c", "\"too late\"");
            assertEquals(TaskState.CANCELLED, task.state);
            assertEquals(FailureReason.CANCELLED, failure(task).reason());
            assertEquals(0, h.engine.counters().succeeded);
            assertEquals(1, h.engine.counters().cancelled);
            assertEquals(TaskState.RUNNING, queued.state, "the freed slot takes the next task");
            assertEquals("w-1", queued.worker.id);
            assertEquals(List.of(), worker.connection.stopActions());
        }

        @Test
        void a_cancelled_task_whose_worker_ignores_the_cancel_gets_the_worker_replaced() {
            EngineHarness h = harness(commandGroup(1)).startReady();
            FakeWorker worker = h.workers.get("w-1");
            TaskRecord task = h.submit("c");
            long cancelled = h.now();
            h.engine.cancel(task);
            h.maintainAt(cancelled + CANCEL_GRACE.toNanos() - 1);
            assertEquals(List.of(), worker.connection.stopActions());
            h.maintainAt(cancelled + CANCEL_GRACE.toNanos());
            assertEquals(List.of("terminate"), worker.connection.stopActions());
            worker.exit(128 + ExitStatus.SIGTERM);
            assertEquals(TaskState.CANCELLED, task.state);
            assertEquals(FailureReason.CANCELLED, failure(task).reason());
            assertTrue(task.failedAttempts.isEmpty(), "a cancelled task is not a failed attempt");
        }

        @Test
        void a_result_after_the_timeout_does_not_succeed_the_task_and_a_repeat_is_ignored() {
            EngineHarness h = harness(commandGroup(1)).startReady();
            FakeWorker worker = h.workers.get("w-1");
            TaskRecord task = h.submit(TaskRequest.of("work", 1).withId("late").withTimeout(Duration.ofSeconds(1)));
            h.maintainAt(h.now() + SECOND);
            assertEquals(List.of("late"), worker.cancels());

            worker.result("late", "42");
            assertEquals(TaskState.FAILED, task.state, "a timeout is not retried by default: the task fails");
            assertEquals(FailureReason.TIMEOUT, failure(task).reason());
            worker.result("late", "42");
            assertEquals(TaskState.FAILED, task.state);
            assertEquals(0, h.engine.counters().succeeded);
            assertEquals(1, h.engine.counters().failed);
            assertEquals(1, h.snapshot("w-1").tasksServed());
        }

        @Test
        void a_duplicate_result_is_ignored() {
            EngineHarness h = harness(commandGroup(1)).startReady();
            FakeWorker worker = h.workers.get("w-1");
            TaskRecord task = h.submit("d");
            worker.result("d", "{\"n\":1}");
            worker.result("d", "{\"n\":2}");
            assertEquals(TaskState.SUCCEEDED, task.state);
            assertEquals("{\"n\":1}", task.future.join().json());
            assertEquals("w-1", task.future.join().workerId());
            assertEquals(1, task.future.join().attempt());
            assertEquals(1, h.engine.counters().succeeded);
            assertEquals(1, h.snapshot("w-1").tasksServed());
            assertEquals(WorkerState.IDLE, h.snapshot("w-1").state());
        }

        @Test
        void an_answer_for_a_task_the_worker_does_not_hold_is_ignored() {
            EngineHarness h = harness(commandGroup(2)).startReady();
            TaskRecord task = h.submit("mine");
            String holder = task.worker.id;
            FakeWorker other = h.workers.get(holder.equals("w-1") ? "w-2" : "w-1");
            other.result("mine", "1");
            other.result("nobody", "1");
            assertEquals(TaskState.RUNNING, task.state);
            h.workers.get(holder).result("mine", "2");
            assertEquals("2", task.future.join().json());
        }

        @Test
        void shutdown_now_cancels_queued_retry_waiting_and_running_tasks_and_returns_only_never_started_ones() {
            EngineHarness h = harness(commandGroup(3)).startReady();
            RetryPolicy slowRetry = RetryPolicy.builder().initialDelay(Duration.ofSeconds(10))
                    .retryFirstCrashAtOnce(false).build();
            TaskRecord running = h.submit("running");
            TaskRecord requeued = h.submit("requeued");
            TaskRecord waiting = h.submit(TaskRequest.of("work", 1).withId("waiting").withRetryPolicy(slowRetry));
            assertEquals(3, List.of(running, requeued, waiting).stream().map(t -> t.worker.id).distinct().count());

            long crash = h.ticker.advance(Duration.ofSeconds(1));
            h.workers.get(requeued.worker.id).exit(1);
            h.workers.get(waiting.worker.id).exit(1);
            h.maintainAt(crash + Duration.ofMillis(100).toNanos()); // "requeued" is due; its worker's replacement starts
            assertEquals(TaskState.QUEUED, requeued.state, "no ready worker is free");
            assertEquals(1, requeued.attempts);
            assertEquals(TaskState.RETRY_WAIT, waiting.state);
            TaskRecord neverStarted = h.submit("never-started");
            assertEquals(TaskState.QUEUED, neverStarted.state);

            List<TaskRequest> returned = h.engine.shutdownNow();
            assertEquals(1, returned.size());
            assertSame(neverStarted.request, returned.get(0));
            for (TaskRecord task : List.of(running, requeued, waiting, neverStarted)) {
                assertEquals(TaskState.CANCELLED, task.state, task.id);
                assertEquals(FailureReason.CANCELLED, failure(task).reason(), task.id);
            }
            assertEquals(4, h.engine.counters().cancelled);
            assertEquals(PoolState.DRAINING, h.engine.state());

            FakeWorker runningWorker = h.workers.get(running.worker.id);
            assertTrue(runningWorker.connection.stopActions().contains("closeStdin"));
            runningWorker.result("running", "1"); // ends before it sees end of input
            assertEquals(TaskState.CANCELLED, running.state);
            assertEquals(0, h.engine.counters().succeeded);

            List<FakeWorker> live = h.workers.all().stream().filter(w -> h.hasWorker(w.id)).toList();
            live.forEach(w -> w.exit(0));
            assertEquals(PoolState.TERMINATED, h.engine.state());
            int launched = h.workers.count();
            h.advance(Duration.ofMinutes(1));
            assertEquals(launched, h.workers.count(), "no replacement starts after shutdownNow");
        }

        @Test
        void shutdown_now_escalates_from_end_of_input_to_sigterm_to_sigkill() {
            EngineHarness h = harness(commandGroup(1)).startReady();
            FakeWorker worker = h.workers.get("w-1");
            long stopped = h.now();
            h.engine.shutdownNow();
            assertEquals(List.of("closeStdin"), worker.connection.stopActions());
            h.maintainAt(stopped + STOP_GRACE.toNanos() - 1);
            assertEquals(List.of("closeStdin"), worker.connection.stopActions());
            h.maintainAt(stopped + STOP_GRACE.toNanos());
            assertEquals(List.of("closeStdin", "terminate"), worker.connection.stopActions());
            h.maintainAt(stopped + 2 * STOP_GRACE.toNanos());
            assertEquals(List.of("closeStdin", "terminate", "kill"), worker.connection.stopActions());
            worker.exit(128 + ExitStatus.SIGKILL);
            assertEquals(PoolState.TERMINATED, h.engine.state());
        }
    }

    // ============================================================================================ exit classification

    @Nested
    class ExitClassification {
        @Test
        void an_out_of_memory_error_in_the_output_tail_is_out_of_memory() {
            String tail = "Terminating due to java.lang.OutOfMemoryError: Java heap space";
            assertEquals(FailureReason.OUT_OF_MEMORY, Supervisor.classifyExit(new ExitStatus(3), tail, false));
        }

        @Test
        void sigkill_after_a_kernel_oom_kill_is_out_of_memory() {
            assertEquals(FailureReason.OUT_OF_MEMORY,
                    Supervisor.classifyExit(new ExitStatus(128 + ExitStatus.SIGKILL), "(no output)", true));
        }

        @Test
        void sigkill_without_a_kernel_oom_kill_is_a_crash() {
            assertEquals(FailureReason.WORKER_CRASHED,
                    Supervisor.classifyExit(new ExitStatus(128 + ExitStatus.SIGKILL), "(no output)", false));
        }

        @Test
        void another_signal_or_exit_code_is_a_crash_even_with_a_kernel_oom_kill_seen() {
            assertEquals(FailureReason.WORKER_CRASHED,
                    Supervisor.classifyExit(new ExitStatus(128 + 11), "Segmentation fault", true));
            assertEquals(FailureReason.WORKER_CRASHED, Supervisor.classifyExit(new ExitStatus(1), "", true));
        }

        @Test
        void the_dispatcher_counts_a_kernel_oom_kill_seen_between_start_and_the_exit() {
            EngineHarness h = harness(commandGroup(2)).startReady();
            TaskRecord first = h.submit("a");
            TaskRecord second = h.submit("b");
            h.memory.oomKills(1);
            h.workers.get(first.worker.id).exit(128 + ExitStatus.SIGKILL);
            assertEquals(FailureReason.OUT_OF_MEMORY, first.failedAttempts.get(0).reason());
            // the same kill is not counted twice
            h.workers.get(second.worker.id).exit(128 + ExitStatus.SIGKILL);
            assertEquals(FailureReason.WORKER_CRASHED, second.failedAttempts.get(0).reason());
        }
    }

    // ============================================================================================ fixed bugs

    // ============================================================================================ batching

    @Nested
    class Batching {
        @Test
        void answers_that_arrive_together_free_tasks_that_go_out_in_one_write_with_exact_offsets() {
            EngineHarness h = harness(commandGroupBuilder(1).prefetch(3).build()).startReady();
            FakeWorker worker = h.workers.get("w-1");
            List<TaskRecord> tasks = new ArrayList<>();
            for (int i = 1; i <= 10; i++) {
                tasks.add(h.submit("t" + i));
            }
            assertEquals(4, worker.connection.writes(), "one slot and three ahead: four tasks, one write each");
            long[] ends = new long[10];
            for (int i = 0; i < 4; i++) {
                ends[i] = tasks.get(i).frameEnd;
                assertTrue(i == 0 ? ends[0] > 0 : ends[i] > ends[i - 1], "offsets grow with each frame");
            }

            worker.results("t1", "t2", "t3");

            assertEquals(5, worker.connection.writes(), "the three freed places are filled in one write");
            assertEquals(List.of("t1", "t2", "t3", "t4", "t5", "t6", "t7"),
                    worker.tasks().stream().map(Frame.Task::id).toList());
            assertEquals(ends[2], worker.connection.consumed(), "the worker has read up to the end of t3's frame");
            for (int i = 0; i < 3; i++) {
                assertEquals(TaskState.SUCCEEDED, tasks.get(i).state);
            }
            long previous = tasks.get(3).frameEnd;
            for (int i = 4; i < 7; i++) {
                TaskRecord task = tasks.get(i);
                assertEquals(TaskState.RUNNING, task.state);
                assertEquals(previous + h.codec.encodeTask(task.id, "work", 1, 0, task.payloadJson).length,
                        task.frameEnd, "each frame of the joined write ends where the next begins");
                previous = task.frameEnd;
            }
            worker.results("t4", "t5", "t6", "t7");
            assertEquals(tasks.get(6).frameEnd, worker.connection.consumed());
            assertEquals(TaskState.RUNNING, tasks.get(9).state);
        }

        @Test
        void frames_for_different_workers_are_joined_per_worker_and_keep_their_order() {
            EngineHarness h = harness(commandGroupBuilder(2).prefetch(1).build()).startReady();
            FakeWorker first = h.workers.get("w-1");
            FakeWorker second = h.workers.get("w-2");
            for (int i = 1; i <= 12; i++) {
                h.submit("t" + i);
            }
            int before = first.connection.writes() + second.connection.writes();
            first.results(first.tasks().stream().map(Frame.Task::id).toArray(String[]::new));
            assertEquals(before + 1, first.connection.writes() + second.connection.writes());
            List<Integer> numbers = first.tasks().stream().map(t -> Integer.parseInt(t.id().substring(1))).toList();
            assertEquals(numbers.stream().sorted().toList(), numbers, "a worker gets its tasks in queue order");
        }
    }

    // ============================================================================================ send-ahead

    /**
     * The adaptive send-ahead window, with fake time: a task's round trip is the time the test lets pass between its
     * dispatch and its answer, and its own time the {@code runNanos} the fake worker reports.
     */
    @Nested
    class AdaptiveSendAhead {
        private static final long US = 1_000L;
        /** The round trip of these tests, beyond a task's own time. */
        private static final long ROUND_TRIP = 30 * US;

        private List<TaskRecord> submitMany(EngineHarness h, int n) {
            List<TaskRecord> tasks = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                tasks.add(h.submit("t" + i));
            }
            return tasks;
        }

        /** One worker that has answered t0 after a 30 µs round trip and 2 µs of its own: window 15. */
        private EngineHarness learnedTinyTasks(int queued) {
            EngineHarness h = harness(commandGroup(1)).startReady();
            submitMany(h, queued);
            FakeWorker worker = h.workers.get("w-1");
            assertEquals(1, worker.tasks().size(), "nothing is sent ahead before the worker's times are known");
            h.ticker.advance(Duration.ofNanos(ROUND_TRIP + 2 * US));
            worker.timedResults(2 * US, "t0");
            return h;
        }

        @Test
        void tiny_tasks_open_a_window_of_about_one_round_trip_of_work_and_keep_it_full() {
            EngineHarness h = learnedTinyTasks(40);
            FakeWorker worker = h.workers.get("w-1");
            assertEquals(1 + 1 + 15, worker.tasks().size(), "t0, then t1 in the slot and 15 of 2 µs ahead (30 µs)");

            h.ticker.advance(Duration.ofNanos(ROUND_TRIP + 6 * US));
            worker.timedResults(2 * US, "t1", "t2", "t3");
            assertEquals(20, worker.tasks().size(), "three answers, three more sent: the window stays full");
            assertEquals(List.of("t0", "t1", "t2", "t3", "t4", "t5", "t6", "t7", "t8", "t9", "t10", "t11", "t12",
                    "t13", "t14", "t15", "t16", "t17", "t18", "t19"),
                    worker.tasks().stream().map(Frame.Task::id).toList(), "in queue order");
        }

        @Test
        void tasks_longer_than_32_round_trips_are_sent_one_at_a_time() {
            EngineHarness h = harness(commandGroup(1)).startReady();
            submitMany(h, 10);
            FakeWorker worker = h.workers.get("w-1");
            for (int i = 0; i < 6; i++) {
                h.ticker.advance(Duration.ofNanos(ROUND_TRIP + 5_000 * US));
                worker.timedResults(5_000 * US, "t" + i); // over 32 round trips
                assertEquals(i + 2, worker.tasks().size(), "after answer " + (i + 1) + ": only its successor");
            }
        }

        @Test
        void tasks_of_a_few_round_trips_get_one_task_sent_ahead_and_no_more() {
            EngineHarness h = harness(commandGroup(1)).startReady();
            submitMany(h, 10);
            FakeWorker worker = h.workers.get("w-1");
            h.ticker.advance(Duration.ofNanos(ROUND_TRIP + 300 * US));
            worker.timedResults(300 * US, "t0"); // 10 round trips: without one ahead the worker idles 1/11 of its time
            assertEquals(3, worker.tasks().size(), "t1 in the slot and t2 ahead of it");
            for (int i = 1; i < 5; i++) {
                h.ticker.advance(Duration.ofNanos(300 * US));
                worker.timedResults(300 * US, "t" + i);
                assertEquals(i + 3, worker.tasks().size(), "one answer, one more sent: still one ahead, no more");
            }
        }

        @Test
        void a_high_priority_task_waits_behind_one_task_of_a_few_round_trips_at_most() {
            EngineHarness h = harness(commandGroup(2)).startReady();
            submitMany(h, 12);
            FakeWorker first = h.workers.get("w-1");
            FakeWorker second = h.workers.get("w-2");
            h.ticker.advance(Duration.ofNanos(ROUND_TRIP + 300 * US));
            first.timedResults(300 * US, first.lastTask().id());
            second.timedResults(300 * US, second.lastTask().id());
            assertEquals(3, first.tasks().size(), "t0 answered, one running, one ahead");
            TaskRecord urgent = h.submit(TaskRequest.of("work", "u").withId("u")
                    .withPriority(TaskRequest.HIGHEST_PRIORITY));
            assertEquals(TaskState.QUEUED, urgent.state, "no room: each worker already has one task ahead");

            h.ticker.advance(Duration.ofNanos(300 * US));
            String ahead = second.lastTask().id();
            String running = second.tasks().get(second.tasks().size() - 2).id();
            second.timedResults(300 * US, running);
            assertEquals("w-2", urgent.worker.id, "the first worker to answer takes it next");
            List<String> sent = second.tasks().stream().map(Frame.Task::id).toList();
            assertEquals(List.of(ahead, "u"), sent.subList(sent.size() - 2, sent.size()), "behind one task only");
        }

        @Test
        void the_window_closes_when_tasks_become_long_and_nothing_more_is_sent_until_the_worker_drains() {
            EngineHarness h = learnedTinyTasks(60);
            FakeWorker worker = h.workers.get("w-1");
            assertEquals(17, worker.tasks().size());

            h.ticker.advance(Duration.ofMillis(5));
            worker.timedResults(5_000 * US, "t1"); // the tasks turn long
            assertEquals(17, worker.tasks().size(), "nothing sent behind them");
            for (int i = 2; i < 16; i++) {
                h.ticker.advance(Duration.ofNanos(2 * US));
                worker.timedResults(2 * US, "t" + i);
                assertEquals(17, worker.tasks().size(), "still closed after t" + i);
            }
            worker.timedResults(2 * US, "t16"); // the last in flight: the slot is free
            assertEquals(18, worker.tasks().size(), "one task for the free slot, none ahead of it");
        }

        @Test
        void a_high_priority_task_submitted_behind_long_tasks_runs_next_on_the_first_free_worker() {
            EngineHarness h = harness(commandGroup(2)).startReady();
            submitMany(h, 12);
            FakeWorker first = h.workers.get("w-1");
            FakeWorker second = h.workers.get("w-2");
            h.ticker.advance(Duration.ofNanos(ROUND_TRIP + 5_000 * US));
            first.timedResults(5_000 * US, first.lastTask().id());
            second.timedResults(5_000 * US, second.lastTask().id());
            TaskRecord urgent = h.submit(TaskRequest.of("work", "u").withId("u")
                    .withPriority(TaskRequest.HIGHEST_PRIORITY));
            assertEquals(TaskState.QUEUED, urgent.state, "no free slot, and long tasks are not sent ahead");

            h.ticker.advance(Duration.ofNanos(ROUND_TRIP + 5_000 * US));
            second.timedResults(5_000 * US, second.lastTask().id());
            assertEquals(TaskState.RUNNING, urgent.state);
            assertEquals("w-2", urgent.worker.id, "the first worker to free a slot runs it next");
            assertEquals("u", second.lastTask().id());
        }

        @Test
        void a_task_goes_to_a_free_slot_before_any_busy_workers_window_whatever_the_balancer_prefers() {
            LoadBalancer firstCandidate = (task, candidates) -> candidates.get(0);
            EngineHarness h = harness(commandGroup(2), b -> b.loadBalancer(firstCandidate)).startReady();
            FakeWorker first = h.workers.get("w-1");
            h.submit("a");
            h.ticker.advance(Duration.ofNanos(ROUND_TRIP + 2 * US));
            first.timedResults(2 * US, "a"); // w-1 has a window of 15 now, and "work" is known to be short
            TaskRecord b = h.submit("b");
            assertEquals("w-1", b.worker.id);
            TaskRecord c = h.submit("c");
            assertEquals("w-2", c.worker.id, "w-2 has a free slot: c does not wait behind b on w-1");
        }

        @Test
        void nothing_is_sent_ahead_behind_a_task_that_has_run_longer_than_a_round_trip() {
            EngineHarness h = learnedTinyTasks(1);
            FakeWorker worker = h.workers.get("w-1");
            h.submit("y");
            h.submit("z"); // y has just started: z may wait behind it
            assertEquals(List.of("t0", "y", "z"), worker.tasks().stream().map(Frame.Task::id).toList());
            h.ticker.advance(Duration.ofNanos(3 * ROUND_TRIP));
            TaskRecord late = h.submit("late");
            assertEquals(TaskState.QUEUED, late.state, "y runs long: it is not the short task it seemed");
            worker.timedResults(3 * ROUND_TRIP, "y", "z");
            assertEquals(TaskState.RUNNING, late.state);
        }

        @Test
        void a_worker_that_does_not_report_its_times_gets_no_window() {
            EngineHarness h = harness(commandGroup(1)).startReady();
            submitMany(h, 10);
            FakeWorker worker = h.workers.get("w-1");
            for (int i = 0; i < 5; i++) {
                h.ticker.advance(Duration.ofNanos(ROUND_TRIP));
                worker.results("t" + i);
                assertEquals(i + 2, worker.tasks().size());
            }
        }

        @Test
        void a_fixed_prefetch_of_zero_sends_nothing_ahead_whatever_the_times() {
            EngineHarness h = harness(commandGroupBuilder(1).prefetch(0).build()).startReady();
            submitMany(h, 10);
            FakeWorker worker = h.workers.get("w-1");
            h.ticker.advance(Duration.ofNanos(ROUND_TRIP + 2 * US));
            worker.timedResults(2 * US, "t0");
            assertEquals(2, worker.tasks().size());
        }
    }

    @Nested
    class HotSpares {
        @Test
        void only_a_worker_started_as_a_hot_spare_is_told_it_may_warm_up_and_so_is_the_next_spare() {
            EngineHarness h = harness(commandGroupBuilder(1).hotSpares(1).build()).startReady();
            assertEquals(null, h.workers.get("w-1").spec.environment().get("PROCPOOL_WARM_UP"));
            assertEquals("1", h.workers.get("w-2").spec.environment().get("PROCPOOL_WARM_UP"));

            long crashedAt = h.ticker.advance(Duration.ofMillis(1));
            h.workers.get("w-1").exit(128 + ExitStatus.SIGKILL); // w-2 takes over; a new spare is started
            h.maintainAt(crashedAt + RestartPolicy.defaults().initialDelay().toNanos());
            assertEquals("1", h.workers.get("w-3").spec.environment().get("PROCPOOL_WARM_UP"));
        }

        @Test
        void when_a_workers_output_ends_the_spare_takes_the_next_task_before_the_exit_is_reported() {
            EngineHarness h = harness(commandGroupBuilder(1).hotSpares(1).build()).startReady();
            FakeWorker dying = h.workers.get("w-1");
            FakeWorker spare = h.workers.get("w-2");
            dying.stdoutEnded(); // killed: its pipe is closed, its exit not reported yet
            TaskRecord task = h.submit("next");
            assertEquals(TaskState.RUNNING, task.state);
            assertEquals("w-2", task.worker.id, "not the dying worker: the task would be lost with it");
            spare.results("next");
            assertEquals(TaskState.SUCCEEDED, task.state);
            assertEquals(1, task.attempts);

            dying.exit(128 + ExitStatus.SIGKILL);
            h.maintainAt(h.ticker.advance(Duration.ofSeconds(1)));
            assertEquals("1", h.workers.get("w-3").spec.environment().get("PROCPOOL_WARM_UP"), "a new spare");
        }

        @Test
        void without_a_spare_a_task_waits_for_the_replacement_instead_of_being_lost_with_the_dying_worker() {
            EngineHarness h = harness(commandGroup(1)).startReady();
            h.workers.get("w-1").stdoutEnded();
            TaskRecord task = h.submit("next");
            assertEquals(TaskState.QUEUED, task.state);
            h.workers.get("w-1").exit(128 + ExitStatus.SIGKILL);
            h.maintainAt(h.ticker.advance(Duration.ofSeconds(1)));
            h.workers.get("w-2").ready();
            assertEquals(TaskState.RUNNING, task.state);
            assertEquals(0, task.failedAttempts.size(), "no attempt was lost");
        }
    }

    // ============================================================================================ guarded user code

    @Nested
    class GuardedDecisions {
        private int successes(EngineHarness h, List<TaskRecord> tasks) {
            int done = 0;
            for (TaskRecord task : tasks) {
                if (task.state == TaskState.RUNNING) {
                    h.workers.get(task.worker.id).result(task.id, "1");
                }
            }
            for (TaskRecord task : tasks) {
                done += task.future.isDone() && !task.future.isCompletedExceptionally() ? 1 : 0;
            }
            return done;
        }

        /** Runs 30 tasks through 3 workers, answering each as it lands; every task must succeed exactly once. */
        private void everyTaskEndsOnce(EngineHarness h) {
            List<TaskRecord> tasks = new ArrayList<>();
            for (int i = 0; i < 30; i++) {
                tasks.add(h.submit("t" + i));
            }
            int rounds = 0;
            while (tasks.stream().anyMatch(t -> !t.future.isDone()) && rounds++ < 30) {
                successes(h, tasks);
            }
            for (TaskRecord task : tasks) {
                assertEquals(TaskState.SUCCEEDED, task.state, task.id);
                assertEquals(1, task.attempts, task.id);
            }
        }

        @Test
        void a_balancer_that_throws_is_replaced_by_least_loaded_for_that_choice_counted_and_every_task_ends_once() {
            int[] calls = {0};
            LoadBalancer throwing = (task, candidates) -> {
                if (++calls[0] % 2 == 0) {
                    throw new IllegalStateException("balancer bug");
                }
                return candidates.get(0);
            };
            EngineHarness h = harness(commandGroup(3), b -> b.loadBalancer(throwing)).startReady();
            everyTaskEndsOnce(h);
            assertTrue(h.engine.counters().balancerFailures > 0);
            assertEquals(h.engine.counters().balancerFailures, h.engine.snapshot().performance().balancerFailures());
        }

        @Test
        void a_balancer_that_throws_an_error_does_not_leave_a_task_half_placed() {
            int[] calls = {0};
            LoadBalancer throwing = (task, candidates) -> {
                calls[0]++;
                throw new OutOfMemoryError("not really: a balancer throwing an Error");
            };
            EngineHarness h = harness(commandGroup(3), b -> b.loadBalancer(throwing)).startReady();
            everyTaskEndsOnce(h);
            assertTrue(calls[0] > 0);
            assertEquals(calls[0], h.engine.counters().balancerFailures, "every call fell back to least-loaded");
        }

        @Test
        void a_balancer_that_returns_a_stranger_or_null_is_overruled_loudly() {
            LoadBalancer.WorkerView stranger = new LoadBalancer.WorkerView() {
                public String id() {
                    return "w-99";
                }

                public String group() {
                    return "default";
                }

                public long pid() {
                    return 99;
                }

                public int tasksInFlight() {
                    return 0;
                }

                public int maxConcurrency() {
                    return 1;
                }

                public long tasksServed() {
                    return 0;
                }

                public long rssBytes() {
                    return 0;
                }

                public java.util.Set<String> capabilities() {
                    return java.util.Set.of();
                }
            };
            int[] calls = {0};
            LoadBalancer wrong = (task, candidates) -> ++calls[0] % 2 == 0 ? stranger : null;
            EngineHarness h = harness(commandGroup(3), b -> b.loadBalancer(wrong)).startReady();
            everyTaskEndsOnce(h);
            assertTrue(h.engine.counters().balancerFailures > 0);
            assertEquals(3, h.engine.snapshot().workers().total(), "no worker was invented or lost");
        }

        @Test
        void effects_decided_before_a_decision_throws_are_still_carried_out() {
            EngineHarness h = harness(commandGroup(1)).startReady();
            TaskRecord task = h.submit("t");
            boolean[] ran = {false};
            IllegalStateException thrown = assertThrows(IllegalStateException.class, () -> h.engine.act(fx -> {
                fx.quick(() -> ran[0] = true);
                fx.send(task.worker, h.codec.encodeCancel(task.id));
                throw new IllegalStateException("a bug after deciding");
            }));
            assertEquals("a bug after deciding", thrown.getMessage());
            assertTrue(ran[0], "the quick effect ran");
            assertEquals(List.of("t"), h.workers.get("w-1").cancels(), "the frame was sent");
        }
    }

    /** Each test here failed on the engine before the bug it names was fixed. */
    @Nested
    class FixedBugs {
        @Test
        void a_timeout_kill_fails_only_the_timed_out_task_timeout_and_the_other_task_on_the_worker_is_retried() {
            // before the fix every task in flight on the terminated worker failed TIMEOUT and was dead-lettered
            EngineHarness h = harness(commandGroupBuilder(1).maxConcurrency(2).build()).startReady(2);
            FakeWorker worker = h.workers.get("w-1");
            TaskRecord slow = h.submit(TaskRequest.of("work", 1).withId("slow").withTimeout(Duration.ofSeconds(5)));
            TaskRecord bystander = h.submit("bystander");
            assertEquals("w-1", slow.worker.id);
            assertEquals("w-1", bystander.worker.id, "both run on the one worker at once");
            long dispatched = h.now();

            h.maintainAt(dispatched + Duration.ofSeconds(5).toNanos());
            assertEquals(List.of("slow"), worker.cancels(), "only the timed-out task is cancelled");
            worker.heartbeat();
            long killed = h.maintainAt(dispatched + Duration.ofSeconds(5).toNanos() + CANCEL_GRACE.toNanos());
            assertEquals(List.of("terminate"), worker.connection.stopActions());
            assertEquals(TaskState.RUNNING, bystander.state);

            worker.exit(128 + ExitStatus.SIGTERM);
            assertEquals(TaskState.FAILED, slow.state);
            assertEquals(FailureReason.TIMEOUT, failure(slow).reason());
            assertEquals(FailureReason.TIMEOUT, slow.failedAttempts.get(0).reason());

            assertEquals(TaskState.QUEUED, bystander.state,
                    "the bystander lost its worker: it is retried at once, and waits for the replacement");
            assertFalse(bystander.future.isDone());
            AttemptRecord lost = bystander.failedAttempts.get(0);
            assertEquals(FailureReason.WORKER_CRASHED, lost.reason());
            assertEquals(ExitStatus.SIGTERM, lost.signal());
            assertEquals(0, h.deadLetters.size());
            Counters counters = h.engine.counters();
            assertEquals(Map.of(FailureReason.TIMEOUT, 1L, FailureReason.WORKER_CRASHED, 1L),
                    counters.failuresByReason);
            assertEquals(1, counters.retried);
            assertEquals(1, counters.failed);

            // the replacement (restart delay 100 ms) takes attempt 2, due at the same time
            h.maintainAt(killed + Duration.ofMillis(100).toNanos());
            FakeWorker replacement = h.workers.get("w-2");
            replacement.ready(List.of(), 2);
            assertEquals(TaskState.RUNNING, bystander.state);
            assertEquals(2, replacement.lastTask().attempt());
            replacement.result("bystander", "\"ok\"");
            assertEquals("\"ok\"", bystander.future.join().json());
        }

        @Test
        void a_worker_that_was_ready_and_died_before_mark_running_is_replaced_once_the_pool_runs() {
            // before the fix the death went unreplaced: while NEW nothing is replaced, and markRunning did not look
            EngineHarness h = harness(commandGroup(2));
            List<WorkerRecord> started = h.engine.start();
            h.workers.get("w-1").ready();
            h.workers.get("w-1").exit(1); // ready, then dead while w-2 still starts
            assertEquals(PoolState.NEW, h.engine.state());
            h.advance(Duration.ofSeconds(1));
            assertEquals(2, h.workers.count(), "nothing is replaced while the pool is NEW");
            h.workers.get("w-2").ready();
            assertTrue(started.get(0).ready.isDone() && !started.get(0).ready.isCompletedExceptionally());

            h.engine.markRunning();
            assertEquals(PoolState.RUNNING, h.engine.state());
            h.maintainAt(h.now());
            assertEquals(3, h.workers.count(), "the lost worker is replaced once maintenance runs");
            assertEquals(WorkerState.STARTING, h.snapshot("w-3").state());
            h.workers.get("w-3").ready();
            assertEquals(2, h.engine.workerSnapshots().size());

            h.advance(Duration.ofSeconds(1));
            h.workers.get("w-2").heartbeat();
            h.workers.get("w-3").heartbeat();
            h.advance(Duration.ofSeconds(1));
            assertEquals(3, h.workers.count(), "replaced once, not again");
        }

        @Test
        void mark_running_starts_nothing_extra_when_every_worker_is_alive() {
            EngineHarness h = harness(commandGroup(2)).startReady();
            h.maintainAt(h.now());
            assertEquals(2, h.workers.count());
        }

        @Test
        void a_ready_frame_from_a_worker_being_killed_for_its_startup_timeout_is_ignored() {
            // before the fix the late ready made the dying worker IDLE and completed its ready future normally
            EngineHarness h = harness(javaGroup(1), b -> b.startupTimeout(Duration.ofSeconds(20)));
            WorkerRecord record = h.engine.start().get(0);
            FakeWorker worker = h.workers.get("w-1");
            h.maintainAt(h.now() + Duration.ofSeconds(20).toNanos());
            assertEquals(List.of("closeStdin", "kill"), worker.connection.stopActions());

            worker.ready(); // it was only slow, but the kill is under way
            assertFalse(record.ready.isDone(), "the late ready does not make the worker ready");
            assertEquals(WorkerState.STARTING, h.snapshot("w-1").state());

            worker.exit(128 + ExitStatus.SIGKILL);
            ExecutionException thrown = assertThrows(ExecutionException.class, record.ready::get);
            WorkerStartupException startup = assertInstanceOf(WorkerStartupException.class, thrown.getCause());
            assertTrue(startup.getMessage().contains("did not send ready within"), startup.getMessage());
        }

        @Test
        void a_replacement_killed_for_its_startup_timeout_gets_no_task_when_its_ready_comes_late() {
            EngineHarness h = harness(commandGroup(1), b -> b.startupTimeout(Duration.ofSeconds(20))).startReady();
            long death = h.ticker.advance(Duration.ofSeconds(1));
            h.workers.get("w-1").exit(1);
            h.maintainAt(death + Duration.ofMillis(100).toNanos());
            FakeWorker late = h.workers.get("w-2");
            long launched = h.now();
            TaskRecord task = h.submit("waiting");
            assertEquals(TaskState.QUEUED, task.state);

            h.maintainAt(launched + Duration.ofSeconds(20).toNanos());
            assertEquals(List.of("closeStdin", "kill"), late.connection.stopActions());
            late.ready();
            assertEquals(TaskState.QUEUED, task.state);
            assertEquals(List.of(), late.tasks());
            assertEquals(WorkerState.STARTING, h.snapshot("w-2").state());
            late.exit(128 + ExitStatus.SIGKILL);
            assertFalse(h.hasWorker("w-2"));
            assertEquals(TaskState.QUEUED, task.state);
            assertEquals(0, task.attempts);
        }

        @Test
        void recycle_after_two_tasks_recycles_after_two_not_one() {
            // 2 × (1 - 0.1 × 0.5) = 1.9: truncated it was 1, so the worker recycled after every task
            EngineHarness h = harness(commandGroupBuilder(1).recycleAfterTasks(2).build()).startReady();
            FakeWorker worker = h.workers.get("w-1");
            h.submit("t1");
            worker.result("t1", "1");
            assertEquals(0, worker.shutdowns());
            assertEquals(1, h.workers.count());
            assertEquals(WorkerState.IDLE, h.snapshot("w-1").state());

            TaskRecord second = h.submit("t2");
            assertEquals("w-1", second.worker.id);
            worker.result("t2", "2");
            assertEquals(1, worker.shutdowns());
            assertEquals(WorkerState.RETIRING, h.snapshot("w-1").state());
            assertEquals(2, h.workers.count());
        }

        @Test
        void recycle_after_twenty_tasks_recycles_after_nineteen() {
            EngineHarness h = harness(commandGroupBuilder(1).recycleAfterTasks(20).build()).startReady();
            FakeWorker worker = h.workers.get("w-1");
            for (int i = 1; i <= 18; i++) {
                h.submit("t" + i);
                worker.result("t" + i, "0");
            }
            assertEquals(0, worker.shutdowns());
            h.submit("t19");
            worker.result("t19", "0");
            assertEquals(1, worker.shutdowns());
        }

        @Test
        void the_spread_task_limit_rounds_up() {
            int[][] limits = {{1, 1}, {2, 2}, {3, 3}, {10, 10}, {20, 19}, {100, 95}};
            for (int[] limit : limits) {
                EngineHarness h = harness(commandGroupBuilder(1).recycleAfterTasks(limit[0]).build());
                WorkerRecord record = h.engine.start().get(0);
                assertEquals(limit[1], record.recycleAfterTasks, "recycleAfterTasks(" + limit[0] + ")");
            }
        }
    }

    private static <T extends PoolEvent> List<T> events(EngineHarness h, Class<T> type) {
        return h.events.stream().filter(type::isInstance).map(type::cast).toList();
    }
}
