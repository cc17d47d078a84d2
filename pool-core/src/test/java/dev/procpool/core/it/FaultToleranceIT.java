package dev.procpool.core.it;

import dev.procpool.AttemptRecord;
import dev.procpool.DeadLetter;
import dev.procpool.FailureReason;
import dev.procpool.PoolConfig;
import dev.procpool.PoolEvent;
import dev.procpool.RestartPolicy;
import dev.procpool.RetryPolicy;
import dev.procpool.TaskFailedException;
import dev.procpool.TaskHandle;
import dev.procpool.TaskRequest;
import dev.procpool.TaskResult;
import dev.procpool.TaskState;
import dev.procpool.WorkerGroup;
import dev.procpool.WorkerPool;
import dev.procpool.WorkerSnapshot;
import dev.procpool.WorkerSpec;
import dev.procpool.WorkerState;
import dev.procpool.core.testing.EventLog;
import dev.procpool.core.testing.FaultInjectionHandler;
import dev.procpool.core.testing.ProcessLeakCheck;
import dev.procpool.core.testing.Signals;
import dev.procpool.core.testing.TestPools;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Real faults against real worker processes: each test ends with no process left behind. */
class FaultToleranceIT {
    private final ProcessLeakCheck leaks = ProcessLeakCheck.start();
    private static final Duration HEARTBEAT = Duration.ofMillis(200);
    private static final Duration HEARTBEAT_TIMEOUT = Duration.ofSeconds(1);

    private final EventLog events = new EventLog();

    @AfterEach
    void nothingLeftBehind() {
        leaks.assertNoneLeft(Duration.ofSeconds(15));
    }

    private PoolConfig.Builder faultPool(String name, int workers, String... extraJvmOptions) {
        WorkerSpec.Java spec = TestPools.javaWorker(FaultInjectionHandler.class).withExtraJvmOptions(List.of(extraJvmOptions));
        return WorkerPool.builder().name(name)
                .group(WorkerGroup.builder("faulty", spec).workers(workers).build())
                .heartbeatInterval(HEARTBEAT).heartbeatTimeout(HEARTBEAT_TIMEOUT)
                .stopGracePeriod(Duration.ofSeconds(1)).cancelGracePeriod(Duration.ofMillis(500))
                .restartPolicy(RestartPolicy.builder().initialDelay(Duration.ofMillis(20))
                        .maxDelay(Duration.ofMillis(500)).maxRestarts(50).window(Duration.ofSeconds(60)).build())
                .retryPolicy(RetryPolicy.builder().maxAttempts(3).initialDelay(Duration.ofMillis(20)).build())
                .listener(events);
    }

    private static Map<String, Object> fault(String fault, Object... more) {
        Map<String, Object> payload = new java.util.HashMap<>();
        payload.put("fault", fault);
        for (int i = 0; i < more.length; i += 2) {
            payload.put((String) more[i], more[i + 1]);
        }
        return payload;
    }

    private static long pidRunning(WorkerPool pool, TaskHandle task) {
        await().atMost(Duration.ofSeconds(10)).until(() -> task.state() == TaskState.RUNNING);
        return pool.workers().stream().filter(w -> w.currentTasks().contains(task.id())).findFirst()
                .map(WorkerSnapshot::pid).orElseThrow();
    }

    private static List<Long> pids(WorkerPool pool) {
        return pool.workers().stream().map(WorkerSnapshot::pid).toList();
    }

    @Test
    void aWorkerStoppedBeforeItIsReadyIsReplacedWithoutWaitingForTheStartupTimeout() {
        // every worker of the group takes 2 s to report ready, so its replacement can be caught starting
        WorkerSpec.Java slow = TestPools.javaWorker(FaultInjectionHandler.class);
        try (WorkerPool pool = WorkerPool.builder().name("stopped-start")
                .group(WorkerGroup.builder("slow", slow).workers(1)
                        .environment(FaultInjectionHandler.START_DELAY_ENV, "2000").build())
                .heartbeatInterval(HEARTBEAT).startupTimeout(Duration.ofSeconds(60)).listener(events).start()) {
            long first = pids(pool).get(0);
            Signals.send("KILL", first);
            WorkerSnapshot starting = await().atMost(Duration.ofSeconds(10)).until(
                    () -> pool.workers().stream().filter(w -> w.state() == WorkerState.STARTING && w.pid() > 0)
                            .findFirst().orElse(null), w -> w != null);
            Signals.send("STOP", starting.pid());
            long stoppedAt = System.nanoTime();
            TestPools.assertAllDead(List.of(starting.pid()), Duration.ofSeconds(10)); // not the 60 s timeout
            long tookMs = Duration.ofNanos(System.nanoTime() - stoppedAt).toMillis();
            assertTrue(tookMs < 10_000, "replaced after " + tookMs + " ms");
            TaskResult served = pool.submitTask("fault", fault("none")).await(Duration.ofSeconds(20));
            assertNotEquals(starting.pid(), served.workerPid());
            assertTrue(events.all(PoolEvent.WorkerExited.class).stream().anyMatch(e -> e.pid() == starting.pid()
                    && e.cause() == FailureReason.STARTUP_FAILURE), events.toString());
        }
    }

    @Test
    void killDashNineOfABusyWorkerRetriesTheTaskOnANewWorker() {
        try (WorkerPool pool = faultPool("kill9", 2).start()) {
            TaskHandle task = pool.submitTask("fault", fault("sleep", "ms", 1500));
            long victim = pidRunning(pool, task);

            Signals.send("KILL", victim);

            TaskResult result = task.await(Duration.ofSeconds(20));
            assertEquals(2, result.attempt(), "the first attempt died with its worker");
            assertNotEquals(victim, result.workerPid());
            List<PoolEvent.WorkerRestarting> restarts = events.all(PoolEvent.WorkerRestarting.class);
            assertEquals(1, restarts.size());
            assertEquals(FailureReason.WORKER_CRASHED, restarts.get(0).reason());
            assertTrue(events.all(PoolEvent.WorkerExited.class).stream()
                    .anyMatch(e -> e.pid() == victim && e.exitStatus().contains("SIGKILL")));
            await().atMost(Duration.ofSeconds(10)).until(() -> pool.workers().size() == 2
                    && pool.workers().stream().allMatch(WorkerSnapshot::healthy));
            assertTrue(!TestPools.alive(victim));
        }
    }

    @Test
    void aHotSpareTakesOverFromAKilledWorkerWithoutAStartUpWait() {
        WorkerSpec.Java spec = TestPools.javaWorker(FaultInjectionHandler.class);
        try (WorkerPool pool = WorkerPool.builder().name("spare")
                .group(WorkerGroup.builder("g", spec).workers(1).hotSpares(1).build())
                .heartbeatInterval(HEARTBEAT).heartbeatTimeout(HEARTBEAT_TIMEOUT).listener(events).start()) {
            assertEquals(2, pool.workers().size(), "one worker and one hot spare");
            assertEquals(1, pool.snapshot().groups().get(0).hotSpares());
            long active = pool.submitTask("fault", fault("none")).await(Duration.ofSeconds(10)).workerPid();
            for (int i = 0; i < 10; i++) {
                assertEquals(active, pool.submitTask("fault", fault("none")).await(Duration.ofSeconds(10)).workerPid(),
                        "the spare takes no task while the worker lives");
            }
            long spare = pids(pool).stream().filter(pid -> pid != active).findFirst().orElseThrow();

            Signals.send("KILL", active);
            TestPools.assertAllDead(List.of(active), Duration.ofSeconds(5));

            assertEquals(spare, pool.submitTask("fault", fault("none")).await(Duration.ofSeconds(10)).workerPid(),
                    "the spare served the next task");
            await("a new hot spare").atMost(Duration.ofSeconds(20)).until(() -> pool.workers().size() == 2
                    && pool.snapshot().groups().get(0).hotSpares() == 1);
        }
    }

    @Test
    void aStoppedWorkerIsDeclaredAZombieReplacedAndItsTaskRetried() {
        try (WorkerPool pool = faultPool("sigstop", 2).start()) {
            TaskHandle task = pool.submitTask("fault", fault("sleep", "ms", 800));
            long victim = pidRunning(pool, task);

            long stoppedAt = System.nanoTime();
            Signals.send("STOP", victim);

            // The other worker keeps serving while the stopped one is still awaiting judgement.
            for (int i = 0; i < 20; i++) {
                assertNotEquals(victim, pool.submitTask("fault", fault("none")).await(Duration.ofSeconds(5))
                        .workerPid());
            }
            assertTrue(events.all(PoolEvent.ZombieDetected.class).isEmpty(), "served before the zombie verdict");

            await().atMost(Duration.ofSeconds(10)).until(() -> !events.all(PoolEvent.ZombieDetected.class).isEmpty());
            long detectedAfterMs = (System.nanoTime() - stoppedAt) / 1_000_000;
            PoolEvent.ZombieDetected zombie = events.all(PoolEvent.ZombieDetected.class).get(0);
            assertEquals(victim, zombie.pid());
            // Detection is bounded by the timeout plus one heartbeat interval (plus the maintenance tick).
            assertTrue(detectedAfterMs <= HEARTBEAT_TIMEOUT.plus(HEARTBEAT).toMillis() + 300,
                    "zombie detected after " + detectedAfterMs + " ms");

            TaskResult result = task.await(Duration.ofSeconds(20));
            assertEquals(2, result.attempt());
            assertNotEquals(victim, result.workerPid());
            TestPools.assertAllDead(List.of(victim), Duration.ofSeconds(5));
            assertEquals(FailureReason.HUNG, events.all(PoolEvent.WorkerRestarting.class).get(0).reason());
        }
    }

    @Test
    void aTaskThatAlwaysKillsItsWorkerEndsInTheDeadLetterQueueWithForensics() {
        try (WorkerPool pool = faultPool("poison", 2).start()) {
            TaskHandle poison = pool.submitTask(TaskRequest.of("fault", fault("crash", "code", 42)).withId("poison"));
            List<TaskHandle> others = new ArrayList<>();
            for (int i = 0; i < 50; i++) {
                others.add(pool.submitTask("fault", fault("none")));
            }

            TaskFailedException failure = assertThrows(TaskFailedException.class,
                    () -> poison.await(Duration.ofSeconds(30)));
            assertEquals(FailureReason.WORKER_CRASHED, failure.reason());
            assertEquals(3, failure.attempts());
            assertEquals(TaskState.DEAD_LETTERED, poison.state());
            for (TaskHandle other : others) {
                other.await(Duration.ofSeconds(30));
            }

            DeadLetter letter = pool.deadLetters().get("poison").orElseThrow();
            assertEquals(FailureReason.WORKER_CRASHED, letter.reason());
            assertEquals(3, letter.attempts().size());
            for (AttemptRecord attempt : letter.attempts()) {
                assertEquals(42, attempt.exitCode());
                assertEquals(FailureReason.WORKER_CRASHED, attempt.reason());
                assertTrue(attempt.workerPid() > 0);
                assertTrue(attempt.detail().contains("exit code 42"), attempt.detail());
            }
            assertEquals(3, letter.attempts().stream().map(AttemptRecord::workerPid).distinct().count(),
                    "each attempt killed a different worker");
            // The pool replaced exactly the three workers the task killed, and serves on. (Listeners hear of the
            // dead letter and of the last replacement after the task's handle has ended: wait for them, bounded.)
            await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(10))
                    .until(() -> events.all(PoolEvent.TaskDeadLettered.class).size() >= 1
                            && events.all(PoolEvent.WorkerRestarting.class).size() >= 3);
            pool.submitTask("fault", fault("none")).await(Duration.ofSeconds(10));
            assertEquals(1, events.all(PoolEvent.TaskDeadLettered.class).size());
            assertEquals(3, events.all(PoolEvent.WorkerRestarting.class).size());
            assertEquals(dev.procpool.PoolState.RUNNING, pool.state());
        }
    }

    @Test
    void aTaskThatBusyLoopsPastItsTimeoutFailsWithTimeoutAndItsWorkerIsReplaced() {
        try (WorkerPool pool = faultPool("timeout", 1).start()) {
            long before = pids(pool).get(0);
            TaskHandle task = pool.submitTask(TaskRequest.of("fault", fault("busy-loop"))
                    .withTimeout(Duration.ofMillis(300)));

            TaskFailedException failure = assertThrows(TaskFailedException.class,
                    () -> task.await(Duration.ofSeconds(20)));
            assertEquals(FailureReason.TIMEOUT, failure.reason());
            TestPools.assertAllDead(List.of(before), Duration.ofSeconds(5));
            // The JVM was asked for a thread dump; the stack of the looping task thread is kept with the attempt.
            List<String> forensics = failure.failedAttempts().get(0).stderrTail(); // a timeout fails; no dead letter
            assertTrue(forensics.stream().anyMatch(l -> l.startsWith("[thread dump]")
                    && l.contains("FaultInjectionHandler.handle(")), forensics.toString());
            TaskResult next = pool.submitTask("fault", fault("none")).await(Duration.ofSeconds(20));
            assertNotEquals(before, next.workerPid());
        }
    }

    @org.junit.jupiter.params.ParameterizedTest(name = "{0}")
    @org.junit.jupiter.params.provider.ValueSource(strings = {"-XX:+ExitOnOutOfMemoryError", "-XX:-ExitOnOutOfMemoryError"})
    void aWorkerThatRunsOutOfHeapIsClassifiedOutOfMemory(String exitOption) {
        // With the default -XX:+ExitOnOutOfMemoryError the JVM dies saying why; without it the runtime reports it.
        try (WorkerPool pool = faultPool("oom", 1, "-Xmx64m", exitOption).start()) {
            TaskHandle task = pool.submitTask(TaskRequest.of("fault", fault("oom"))
                    .withRetryPolicy(RetryPolicy.builder().maxAttempts(2).initialDelay(Duration.ZERO).build()));

            TaskFailedException failure = assertThrows(TaskFailedException.class,
                    () -> task.await(Duration.ofSeconds(30)));
            assertEquals(FailureReason.OUT_OF_MEMORY, failure.reason());
            assertEquals(2, failure.attempts(), "out of memory is retried by default, then dead-lettered");
            DeadLetter letter = pool.deadLetters().get(task.id()).orElseThrow();
            assertTrue(letter.attempts().stream().allMatch(a -> a.reason() == FailureReason.OUT_OF_MEMORY));
            AttemptRecord first = letter.attempts().get(0);
            boolean evidence = first.stderrTail().stream().anyMatch(l -> l.contains("OutOfMemoryError"))
                    || (first.remoteError() != null && first.remoteError().className().contains("OutOfMemoryError"));
            assertTrue(evidence, first.toString());
        }
    }

    @Test
    void workersOverTheSoftMemoryLimitAreRecycledAfterTheirTaskAndOverTheHardLimitAtOnce() {
        long mib = 1 << 20;
        WorkerSpec.Java spec = TestPools.javaWorker(FaultInjectionHandler.class).withExtraJvmOptions(List.of("-Xmx1g"));
        try (WorkerPool pool = WorkerPool.builder().name("memory")
                .group(WorkerGroup.builder("leaky", spec).workers(1)
                        .memorySoftLimitBytes(300 * mib).memoryHardLimitBytes(700 * mib).build())
                // heartbeats carry RSS, so they come often; a worker that allocates 800 MB on a loaded machine may
                // still miss one, and this test is not about hangs
                .heartbeatInterval(HEARTBEAT).heartbeatTimeout(Duration.ofSeconds(10))
                .stopGracePeriod(Duration.ofSeconds(1)).listener(events).start()) {
            long first = pids(pool).get(0);

            // Soft limit: the task completes, then its worker is replaced.
            TaskResult leaked = pool.submitTask("fault", fault("leak", "mb", 400, "holdMs", 600))
                    .await(Duration.ofSeconds(20));
            assertEquals(first, leaked.workerPid());
            await().atMost(Duration.ofSeconds(10)).until(() -> !events.all(PoolEvent.WorkerRecycled.class).isEmpty());
            assertTrue(events.all(PoolEvent.WorkerRecycled.class).get(0).why().contains("soft limit"));
            TestPools.assertAllDead(List.of(first), Duration.ofSeconds(10));
            long second = pool.submitTask("fault", fault("none")).await(Duration.ofSeconds(20)).workerPid();
            assertNotEquals(first, second);

            // Hard limit: the worker is killed while the task runs.
            TaskHandle hog = pool.submitTask(TaskRequest.of("fault", fault("leak", "mb", 800, "holdMs", 20_000))
                    .withRetryPolicy(RetryPolicy.none()));
            TaskFailedException failure = assertThrows(TaskFailedException.class,
                    () -> hog.await(Duration.ofSeconds(20)));
            assertEquals(FailureReason.OUT_OF_MEMORY, failure.reason());
            assertTrue(failure.getMessage().contains("hard limit"), failure.getMessage());
            TestPools.assertAllDead(List.of(second), Duration.ofSeconds(10));
        }
    }

    @Test
    void replacementsThatCannotStartBackOffAndDegradeThePoolInsteadOfStorming(
            @org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) throws Exception {
        java.nio.file.Path broken = dir.resolve("broken");
        // Starts fine until the marker file exists; then exits before ready, saying why on stderr.
        String script = "import os, sys, runpy\n"
                + "if os.path.exists(" + pyString(broken.toString()) + "):\n"
                + "    sys.stderr.write('configuration missing\\n'); sys.exit(7)\n"
                + "sys.argv = ['worker']\n"
                + "runpy.run_path(" + pyString(TestPools.referenceWorker("python_worker.py").toString())
                + ", run_name='__main__')\n";
        try (WorkerPool pool = WorkerPool.builder().name("storm").workers(1).command("python3", "-c", script)
                .heartbeatInterval(HEARTBEAT).heartbeatTimeout(HEARTBEAT_TIMEOUT)
                .restartPolicy(RestartPolicy.builder().initialDelay(Duration.ofMillis(50)).multiplier(2)
                        .maxDelay(Duration.ofMillis(800)).jitter(0).maxRestarts(3).window(Duration.ofSeconds(4))
                        .build())
                .listener(events).start()) {
            long first = pids(pool).get(0);
            java.nio.file.Files.createFile(broken);
            Signals.send("KILL", first);

            await().atMost(Duration.ofSeconds(10)).until(() -> pool.state() == dev.procpool.PoolState.DEGRADED);
            assertNotEquals(dev.procpool.HealthStatus.HEALTHY, pool.health().status());
            assertTrue(pool.health().alerts().stream().anyMatch(a -> a.contains("restart intensity")),
                    pool.health().alerts().toString());
            List<PoolEvent.WorkerRestarting> restarts = events.all(PoolEvent.WorkerRestarting.class);
            assertTrue(restarts.stream().skip(1).anyMatch(r -> r.reason() == FailureReason.STARTUP_FAILURE));
            List<Duration> delays = restarts.stream().map(PoolEvent.WorkerRestarting::delay).toList();
            for (int i = 1; i < Math.min(delays.size(), 4); i++) {
                assertTrue(delays.get(i).compareTo(delays.get(i - 1)) >= 0, "backoff grows: " + delays);
            }
            await().atMost(Duration.ofSeconds(10)).until(() -> events.all(PoolEvent.HealthChanged.class).stream()
                    .anyMatch(e -> e.to().status() != dev.procpool.HealthStatus.HEALTHY));
            int restartsSoFar = events.all(PoolEvent.WorkerRestarting.class).size();
            assertTrue(restartsSoFar <= 8, "no spawn storm: " + restartsSoFar + " restarts " + delays);

            // Once the cause is gone, a replacement stays up and the pool recovers.
            java.nio.file.Files.delete(broken);
            await().atMost(Duration.ofSeconds(15)).until(() -> pool.state() == dev.procpool.PoolState.RUNNING
                    && pool.workers().stream().anyMatch(WorkerSnapshot::healthy));
            assertEquals(3, ((Number) pool.submitTask("add", Map.of("a", 1, "b", 2)).await(Duration.ofSeconds(10))
                    .as(Map.class).get("sum")).intValue());
        }
    }

    private static String pyString(String text) {
        return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'";
    }
}
