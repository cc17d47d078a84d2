package dev.procpool.core.it;

import dev.procpool.DeadLetter;
import dev.procpool.FailureReason;
import dev.procpool.PoolSnapshot;
import dev.procpool.RestartPolicy;
import dev.procpool.RetryPolicy;
import dev.procpool.TaskFailedException;
import dev.procpool.TaskHandle;
import dev.procpool.TaskRequest;
import dev.procpool.TaskResult;
import dev.procpool.TaskState;
import dev.procpool.WorkerGroup;
import dev.procpool.WorkerPool;
import dev.procpool.core.internal.process.ProcFs;
import dev.procpool.core.internal.process.ProcStat;
import dev.procpool.core.metrics.PoolMetrics;
import dev.procpool.core.testing.ChaosHandler;
import dev.procpool.core.testing.ProcessLeakCheck;
import dev.procpool.core.testing.TestPools;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.awaitility.core.ConditionTimeoutException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The chaos run: a history check of the README's guarantees 1, 2 and 4 while workers are killed and stopped. A steady
 * stream of tasks (at most {@value #IN_FLIGHT} unfinished at a time) runs on real worker JVMs ({@link ChaosHandler})
 * while {@link ChaosMonkey} sends SIGKILL and SIGSTOP to random workers, and now and then to a process a worker
 * started, until every task has ended. Most tasks answer a number computed from their own; some start child
 * processes, orphaned grandchildren and double-forked children that outlive the task; some fail, time out, are
 * cancelled, or kill their worker on every attempt (poison). At the end:
 * <ul>
 *   <li>every accepted task's future completed exactly once (counted per task id by a callback), with the right
 *       result (its own id and number, the worker and attempt that produced it) or the typed failure its kind and
 *       the faults allow (a task whose every attempt lost its worker is dead-lettered, and nothing else is);</li>
 *   <li>the pool's events agree, task by task: one submission, attempts numbered 1, 2, … in order, exactly one
 *       terminal event (none for a cancelled task), and an attempt that lost its worker is retried only after that
 *       worker's exit was seen; no two attempts of a task were alive at once (each holds a POSIX lock the kernel
 *       frees only when the attempt or its process is gone);</li>
 *   <li>the pool's snapshot (its own counters, independent of Micrometer) adds up to the same history, and the
 *       Micrometer meters, fed separately, agree;</li>
 *   <li>every worker signalled was seen to exit, and after {@code close()} no process is left: every process the
 *       tasks recorded (by pid and start time, orphans included) has ended, and {@link ProcessLeakCheck} finds
 *       nothing the test JVM or its workers started.</li>
 * </ul>
 *
 * <p>Sizes come from system properties; the defaults are the normal suite's short run (tens of seconds):
 * {@code procpool.chaos.tasks} (3,000), {@code procpool.chaos.faultEveryMs} (500), {@code procpool.chaos.workers}
 * (3) and {@code procpool.chaos.seed} (7; it fixes the mix of tasks and the choice of victims, the timing is the
 * machine's). The {@code soak} profile of pool-core runs this class alone with 10,000 tasks:
 * {@code mvn -B verify -pl pool-core -am -Psoak}. Linux only: the checks read {@code /proc}.
 */
class ChaosIT {
    private static final int TASKS = Integer.getInteger("procpool.chaos.tasks", 3000);
    private static final Duration FAULT_EVERY = Duration.ofMillis(Long.getLong("procpool.chaos.faultEveryMs", 500));
    private static final int WORKERS = Integer.getInteger("procpool.chaos.workers", 3);
    private static final long SEED = Long.getLong("procpool.chaos.seed", 7);

    private static final int MAX_ATTEMPTS = 4;
    /** Tasks submitted and not yet ended, at most: a steady stream, so that faults hit every stage of the run. */
    private static final int IN_FLIGHT = 200;
    /** A run in which no task ends for this long is stuck. */
    private static final Duration STALL = Duration.ofSeconds(90);
    private static final Duration TIMEOUT_TASK_LIMIT = Duration.ofMillis(100);
    /**
     * The reasons an attempt fails with when its worker is lost: retried, and dead-lettered once attempts run out. A
     * task sent to a worker that has just died is its crash too ({@link DeadWorkerWriteIT}), never a protocol error.
     */
    private static final Set<FailureReason> LOST_WORKER = Set.of(FailureReason.WORKER_CRASHED, FailureReason.HUNG);

    private final ProcessLeakCheck leaks = ProcessLeakCheck.start();
    @TempDir
    Path dir;

    /** What a task does, and so which outcomes it may have. */
    private enum Kind { WORK, TREE, FAIL, TIMEOUT, CANCEL, POISON }

    /** One task of the run and what came of it. */
    private static final class Planned {
        final int n;
        final Kind kind;
        final TaskHandle handle;
        final AtomicInteger completions = new AtomicInteger();
        volatile TaskResult result;
        volatile Throwable failure;
        /** What {@code cancel()} returned; null if the test did not cancel the task. */
        volatile Boolean cancelled;

        Planned(int n, Kind kind, TaskHandle handle) {
            this.n = n;
            this.kind = kind;
            this.handle = handle;
        }

        String id() {
            return handle.id();
        }
    }

    @BeforeEach
    void linuxOnly() {
        assumeTrue(ProcFs.available() && TestPools.onPath("setsid"), "Linux with /proc and setsid");
    }

    @AfterEach
    void nothingLeftBehind() {
        leaks.assertNoneLeft(Duration.ofSeconds(30));
    }

    @Test
    void everyTaskEndsExactlyOnceAndNoProcessOutlivesItsWorkerUnderSigkillAndSigstop() throws Exception {
        Files.createDirectories(dir.resolve("locks"));
        Path trees = Files.createDirectories(dir.resolve("trees"));
        Random random = new Random(SEED);
        ChaosHistory history = new ChaosHistory();
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        PoolMetrics metrics = new PoolMetrics(Tags.empty(), Duration.ZERO);
        metrics.bindTo(registry);
        List<Planned> plan = new ArrayList<>(TASKS);
        ScheduledExecutorService canceller = Executors.newSingleThreadScheduledExecutor();
        long began = System.nanoTime();
        WorkerPool pool = chaosPool(history, metrics);
        ChaosMonkey monkey = new ChaosMonkey(pool, trees, FAULT_EVERY, SEED);
        try {
            monkey.start();
            Semaphore window = new Semaphore(IN_FLIGHT);
            AtomicInteger ended = new AtomicInteger();
            for (int n = 0; n < TASKS; n++) {
                if (!window.tryAcquire(STALL.toSeconds(), TimeUnit.SECONDS)) {
                    throw new AssertionError("no task ended for " + STALL + ": " + stuck(plan, pool));
                }
                Kind kind = pick(random);
                Planned task = new Planned(n, kind, pool.submitTask(request(n, kind, random)));
                plan.add(task);
                task.handle.future().whenComplete((result, failure) -> {
                    task.result = result;
                    // the view of the outcome wraps a failure in a CompletionException
                    task.failure = failure instanceof CompletionException wrapped ? wrapped.getCause() : failure;
                    if (task.completions.incrementAndGet() == 1) {
                        ended.incrementAndGet();
                        window.release();
                    }
                });
                if (kind == Kind.CANCEL) {
                    canceller.schedule(() -> {
                        task.cancelled = task.handle.cancel();
                    }, random.nextInt(60), TimeUnit.MILLISECONDS);
                }
            }
            awaitAllEnded(plan, ended, pool);
            monkey.stop();
            canceller.shutdown();
            assertTrue(canceller.awaitTermination(30, TimeUnit.SECONDS), "the cancels ran");

            List<String> problems = new ArrayList<>();
            Tally tally = new Tally();
            for (Planned task : plan) {
                checkOutcome(task, pool, tally, problems);
            }
            PoolSnapshot snapshot = pool.snapshot();
            pool.close();
            await("the pool's last event").atMost(Duration.ofSeconds(30)).until(history::terminated);
            for (Planned task : plan) {
                checkHistory(task, history, problems);
            }
            checkCounts(snapshot, pool, history, registry, tally, problems);
            checkFaults(monkey, history, problems);
            List<long[]> treeProcesses = ChaosMonkey.recordedTreeProcesses(trees);
            if (plan.stream().anyMatch(t -> t.kind == Kind.TREE) && treeProcesses.isEmpty()) {
                problems.add("no tree task recorded the processes it started");
            }
            checkNoneAlive(treeProcesses, Duration.ofSeconds(15), problems);

            long seconds = Duration.ofNanos(System.nanoTime() - began).toSeconds();
            Map<Kind, Long> mix = plan.stream().collect(Collectors.groupingBy(t -> t.kind, () -> new EnumMap<>(
                    Kind.class), Collectors.counting()));
            String summary = String.format("chaos run: %d tasks %s in %d s on %d workers, a fault every %d ms (seed"
                            + " %d): %s; faults: %d SIGKILL and %d SIGSTOP of workers, %d SIGKILL and %d SIGSTOP of their"
                            + " children, %d misses; %d zombies, %d worker restarts, %d retries, %d failed attempts"
                            + " %s; %d processes started by tasks",
                    TASKS, mix, seconds, WORKERS, FAULT_EVERY.toMillis(), SEED, tally, monkey.workerKills(),
                    monkey.workerStops(), monkey.childKills(), monkey.childStops(), monkey.misses(),
                    snapshot.performance().zombiesDetected(), snapshot.performance().restarts(),
                    snapshot.tasks().retried(), history.failedAttempts(), history.failuresByReason(),
                    treeProcesses.size());
            if (!problems.isEmpty()) {
                throw new AssertionError(problems.size() + " problems in the " + summary + ":\n  "
                        + String.join("\n  ", problems.subList(0, Math.min(40, problems.size()))));
            }
            System.out.println(summary + "; 0 lost, 0 double outcomes, 0 processes left");
        } finally {
            monkey.stop();
            canceller.shutdownNow();
            pool.close();
            metrics.close();
        }
    }

    private static WorkerPool chaosPool(ChaosHistory history, PoolMetrics metrics) {
        return WorkerPool.builder().name("chaos")
                .group(WorkerGroup.builder("chaos", TestPools.javaWorker(ChaosHandler.class)).workers(WORKERS).build())
                .heartbeatInterval(Duration.ofMillis(200)).heartbeatTimeout(Duration.ofSeconds(1))
                .stopGracePeriod(Duration.ofMillis(500)).cancelGracePeriod(Duration.ofMillis(500))
                .restartPolicy(RestartPolicy.builder().initialDelay(Duration.ofMillis(20))
                        .maxDelay(Duration.ofMillis(500)).maxRestarts(50).window(Duration.ofSeconds(60)).build())
                .retryPolicy(RetryPolicy.builder().maxAttempts(MAX_ATTEMPTS).initialDelay(Duration.ofMillis(10))
                        .build())
                .listener(history).tracker(metrics)
                .start();
    }

    /** Per thousand tasks: 2 poison, 10 time out, 20 fail, 20 are cancelled, 40 start processes; the rest work. */
    private static Kind pick(Random random) {
        int draw = random.nextInt(1000);
        return draw < 2 ? Kind.POISON : draw < 12 ? Kind.TIMEOUT : draw < 32 ? Kind.FAIL : draw < 52 ? Kind.CANCEL
                : draw < 92 ? Kind.TREE : Kind.WORK;
    }

    private TaskRequest request(int n, Kind kind, Random random) {
        Map<String, Object> payload = new HashMap<>();
        payload.put("dir", dir.toString());
        payload.put("n", n);
        payload.put("op", switch (kind) {
            case TREE -> "tree";
            case FAIL -> "fail";
            case POISON -> "crash";
            default -> "work";
        });
        payload.put("ms", switch (kind) {
            case WORK -> random.nextInt(5);
            case TREE -> 10 + random.nextInt(50);
            case CANCEL -> 10 + random.nextInt(50);
            case TIMEOUT -> 5_000; // until cancelled at its timeout
            default -> 0;
        });
        TaskRequest request = TaskRequest.of(ChaosHandler.TYPE, payload).withId("c-" + n)
                .withPriority(random.nextInt(101));
        return kind == Kind.TIMEOUT ? request.withTimeout(TIMEOUT_TASK_LIMIT) : request;
    }

    /** Waits until every task has ended, failing with the tasks left if none ends for {@link #STALL}. */
    private static void awaitAllEnded(List<Planned> plan, AtomicInteger ended, WorkerPool pool) {
        while (ended.get() < plan.size()) {
            int before = ended.get();
            try {
                await().atMost(STALL).pollInterval(Duration.ofMillis(50)).until(() -> ended.get() > before);
            } catch (ConditionTimeoutException e) {
                throw new AssertionError("no task ended for " + STALL + ": " + stuck(plan, pool), e);
            }
        }
    }

    private static String stuck(List<Planned> plan, WorkerPool pool) {
        List<Planned> open = plan.stream().filter(t -> t.completions.get() == 0).toList();
        return open.size() + " of " + plan.size() + " submitted tasks never ended, e.g. " + open.stream().limit(10)
                .map(t -> t.id() + " (" + t.kind + ", " + t.handle.state() + ", worker "
                        + t.handle.workerId().orElse("none") + ")").toList()
                + "; pool: " + pool.snapshot().tasks() + ", workers " + pool.workers();
    }

    /** How the tasks ended, by terminal state. */
    private static final class Tally {
        final Map<TaskState, Long> byState = new EnumMap<>(TaskState.class);
        final Set<String> deadLettered = new TreeSet<>();

        long count(TaskState state) {
            return byState.getOrDefault(state, 0L);
        }

        @Override
        public String toString() {
            return count(TaskState.SUCCEEDED) + " succeeded, " + count(TaskState.FAILED) + " failed, "
                    + count(TaskState.DEAD_LETTERED) + " dead-lettered, " + count(TaskState.CANCELLED) + " cancelled";
        }
    }

    /** The outcome a task's future brought, against what its kind and the faults allow. */
    private static void checkOutcome(Planned task, WorkerPool pool, Tally tally, List<String> problems) {
        String id = task.id();
        String what = id + " (" + task.kind + ")";
        if (task.completions.get() != 1) {
            problems.add(what + ": its future completed " + task.completions.get() + " times");
            return;
        }
        TaskState state = task.handle.state();
        if (task.result != null) {
            tally.byState.merge(TaskState.SUCCEEDED, 1L, Long::sum);
            TaskResult result = task.result;
            Map<?, ?> answer = result.as(Map.class);
            boolean mayHaveSucceeded = task.kind == Kind.WORK || task.kind == Kind.TREE
                    || (task.kind == Kind.CANCEL && Boolean.FALSE.equals(task.cancelled));
            if (!mayHaveSucceeded) {
                problems.add(what + " succeeded" + (task.cancelled != null ? " (cancel() said " + task.cancelled
                        + ")" : "") + ": " + result.json());
            } else if (!id.equals(result.taskId()) || !id.equals(answer.get("id"))
                    || ((Number) answer.get("value")).longValue() != ChaosHandler.answer(task.n)
                    || ((Number) answer.get("pid")).longValue() != result.workerPid()
                    || ((Number) answer.get("attempt")).intValue() != result.attempt()
                    || result.attempt() < 1 || result.attempt() > MAX_ATTEMPTS) {
                problems.add(what + ": a wrong result " + result.json() + " (from worker pid " + result.workerPid()
                        + ", attempt " + result.attempt() + ")");
            }
            if (state != TaskState.SUCCEEDED) {
                problems.add(what + " succeeded but is " + state);
            }
            return;
        }
        if (!(task.failure instanceof TaskFailedException failure)) {
            problems.add(what + ": not a typed failure: " + task.failure);
            return;
        }
        FailureReason reason = failure.reason();
        boolean deadLettered = pool.deadLetters().get(id).isPresent();
        TaskState expected = reason == FailureReason.CANCELLED ? TaskState.CANCELLED
                : deadLettered ? TaskState.DEAD_LETTERED : TaskState.FAILED;
        tally.byState.merge(expected, 1L, Long::sum);
        if (deadLettered) {
            tally.deadLettered.add(id);
        }
        if (state != expected) {
            problems.add(what + " failed with " + reason + (deadLettered ? " (in the dead-letter queue)" : "")
                    + " but is " + state);
        }
        if (reason == FailureReason.CANCELLED) {
            if (!Boolean.TRUE.equals(task.cancelled)) {
                problems.add(what + " ended CANCELLED, but cancel() " + (task.cancelled == null ? "was never called"
                        : "returned false"));
            }
            return;
        }
        if (Boolean.TRUE.equals(task.cancelled)) {
            problems.add(what + ": cancel() returned true, but it ended " + reason);
        }
        List<FailureReason> attempts = failure.failedAttempts().stream().map(a -> a.reason()).toList();
        if (attempts.size() != failure.attempts()) {
            problems.add(what + ": " + failure.attempts() + " attempts, but " + attempts.size()
                    + " failed attempts recorded: " + attempts);
        }
        if (!LOST_WORKER.containsAll(attempts.subList(0, Math.max(0, attempts.size() - 1)))) {
            problems.add(what + ": an attempt before the last failed for another reason than a lost worker, and "
                    + "was retried: " + attempts);
        }
        failure.failedAttempts().stream().filter(a -> a.reason() == FailureReason.PROTOCOL_ERROR)
                .forEach(a -> problems.add(what + ": a protocol error, but the chaos breaks no protocol: " + a));
        String message = failure.remoteError().map(e -> e.message()).orElse("");
        if (message.contains(ChaosHandler.OVERLAP)) {
            problems.add(what + ": " + message);
            return;
        }
        boolean fine;
        if (LOST_WORKER.contains(reason)) {
            // a worker lost on every attempt: what the chaos does to any task, and what a poison task does itself
            fine = deadLettered && failure.attempts() == MAX_ATTEMPTS;
        } else if (reason == FailureReason.HANDLER_ERROR) {
            fine = task.kind == Kind.FAIL && !deadLettered && message.equals(ChaosHandler.plannedFailure(id));
        } else if (reason == FailureReason.TIMEOUT) {
            fine = task.kind == Kind.TIMEOUT && !deadLettered;
        } else {
            fine = false;
        }
        if (task.kind == Kind.POISON && !deadLettered) {
            fine = false;
        }
        if (!fine) {
            problems.add(what + " ended " + expected + " with " + reason + " after " + failure.attempts()
                    + " attempts " + attempts + ": " + failure.getMessage());
        }
    }

    /** The pool's events about one task: its attempts in order, one end, retries only after a lost worker died. */
    private static void checkHistory(Planned task, ChaosHistory history, List<String> problems) {
        String what = task.id() + " (" + task.kind + ")";
        ChaosHistory.TaskEvents events = history.of(task.id());
        boolean cancelled = task.failure instanceof TaskFailedException f && f.reason() == FailureReason.CANCELLED;
        boolean deadLettered = task.handle.state() == TaskState.DEAD_LETTERED;
        long ends = events.completed + events.failures.stream().filter(f -> !f.willRetry()).count();
        if (events.submitted != 1 || ends != (cancelled ? 0 : 1) || events.deadLettered != (deadLettered ? 1 : 0)) {
            problems.add(what + ": " + events.submitted + " submitted events, " + ends + " terminal events, "
                    + events.deadLettered + " dead-lettered events");
        }
        for (int i = 0; i < events.starts.size(); i++) {
            if (events.starts.get(i).attempt() != i + 1) {
                problems.add(what + ": attempts started out of order: " + events.starts);
                return;
            }
        }
        int attempts = task.result != null ? task.result.attempt()
                : task.failure instanceof TaskFailedException f && !cancelled ? f.attempts() : -1;
        if (attempts >= 0 && events.starts.size() != attempts) {
            problems.add(what + ": ended after attempt " + attempts + ", but " + events.starts.size()
                    + " attempts started: " + events.starts);
        }
        long retries = events.failures.stream().filter(ChaosHistory.Failure::willRetry).count();
        if (events.retried != retries) {
            problems.add(what + ": " + retries + " failures to be retried, " + events.retried + " retried events");
        }
        for (ChaosHistory.Failure failure : events.failures) {
            if (!failure.willRetry()) {
                continue;
            }
            if (!LOST_WORKER.contains(failure.reason())) {
                problems.add(what + ": attempt " + failure.attempt() + " failed " + failure.reason()
                        + ", which is not retried by default, and was retried");
                continue;
            }
            if (failure.attempt() > events.starts.size()) {
                problems.add(what + ": attempt " + failure.attempt() + " failed but never started: " + events.starts);
                continue;
            }
            ChaosHistory.Start lost = events.starts.get(failure.attempt() - 1);
            ChaosHistory.Exit exit = history.exitOf(lost.workerId());
            ChaosHistory.Start next = failure.attempt() < events.starts.size()
                    ? events.starts.get(failure.attempt()) : null;
            if (exit == null) {
                problems.add(what + ": attempt " + failure.attempt() + " failed " + failure.reason() + " on worker "
                        + lost.workerId() + ", whose exit was never seen");
            } else if (next != null && next.seq() < exit.seq()) {
                problems.add(what + ": attempt " + next.attempt() + " started on " + next.workerId()
                        + " before worker " + lost.workerId() + " of the attempt it lost had exited");
            }
        }
    }

    /** The pool's own counters and the Micrometer meters against the history. */
    private static void checkCounts(PoolSnapshot snapshot, WorkerPool pool, ChaosHistory history,
                                    SimpleMeterRegistry registry, Tally tally, List<String> problems) {
        PoolSnapshot.Tasks tasks = snapshot.tasks();
        long succeeded = tally.count(TaskState.SUCCEEDED);
        long failed = tally.count(TaskState.FAILED);
        long deadLettered = tally.count(TaskState.DEAD_LETTERED);
        long cancelled = tally.count(TaskState.CANCELLED);
        expectEqual("tasks submitted (snapshot)", TASKS, tasks.submitted(), problems);
        expectEqual("tasks ended (history)", TASKS, succeeded + failed + deadLettered + cancelled, problems);
        expectEqual("tasks succeeded (snapshot)", succeeded, tasks.completed(), problems);
        expectEqual("tasks failed (snapshot)", failed, tasks.failed(), problems);
        expectEqual("tasks dead-lettered (snapshot)", deadLettered, tasks.deadLettered(), problems);
        expectEqual("tasks cancelled (snapshot)", cancelled, tasks.cancelled(), problems);
        expectEqual("tasks rejected (snapshot)", 0, tasks.rejected(), problems);
        expectEqual("tasks queued at the end (snapshot)", 0, tasks.queued(), problems);
        expectEqual("tasks running at the end (snapshot)", 0, tasks.running(), problems);
        expectEqual("retries (snapshot against events)", history.retried(), tasks.retried(), problems);
        if (!nonZero(tasks.attemptFailures()).equals(nonZero(history.failuresByReason()))) {
            problems.add("failed attempts by reason: the snapshot says " + nonZero(tasks.attemptFailures())
                    + ", the events " + nonZero(history.failuresByReason()));
        }
        expectEqual("worker restarts (snapshot against events)", history.restarts(),
                snapshot.performance().restarts(), problems);
        expectEqual("zombies (snapshot against events)", history.zombies().size(),
                snapshot.performance().zombiesDetected(), problems);
        expectEqual("dead letters held", deadLettered, snapshot.deadLetters().size(), problems);
        expectEqual("dead letters added", deadLettered, snapshot.deadLetters().added(), problems);
        expectEqual("dead letters evicted", 0, snapshot.deadLetters().evicted(), problems);
        Set<String> letters = pool.deadLetters().list().stream().map(DeadLetter::taskId)
                .collect(Collectors.toCollection(TreeSet::new));
        if (!letters.equals(tally.deadLettered)) {
            problems.add("the dead-letter queue holds " + letters + ", the tasks that ended dead-lettered are "
                    + tally.deadLettered);
        }
        if (snapshot.performance().workersSpawned() < history.workersReady()) {
            problems.add("workers spawned (snapshot) " + snapshot.performance().workersSpawned() + " < workers ready "
                    + "(events) " + history.workersReady());
        }
        // Micrometer: the counters read the pool's totals; the timers are fed one attempt at a time
        Map<String, Long> outcomes = Map.of("succeeded", succeeded, "failed", failed, "dead_lettered", deadLettered,
                "cancelled", cancelled);
        outcomes.forEach((outcome, count) -> expectEqual("Micrometer tasks completed, outcome=" + outcome, count,
                (long) registry.get(PoolMetrics.Names.TASKS_COMPLETED).tag(PoolMetrics.Names.TAG_OUTCOME, outcome)
                        .functionCounter().count(), problems));
        expectEqual("Micrometer succeeded attempts timed", succeeded, registry.get(PoolMetrics.Names.TASK_EXECUTION)
                .tag(PoolMetrics.Names.TAG_OUTCOME, "succeeded").timer().count(), problems);
        expectEqual("Micrometer failed attempts timed", history.failedAttempts(),
                registry.get(PoolMetrics.Names.TASK_EXECUTION).tag(PoolMetrics.Names.TAG_OUTCOME, "failed").timer()
                        .count(), problems);
    }

    /** Faults were injected, and every worker signalled was seen to exit. */
    private static void checkFaults(ChaosMonkey monkey, ChaosHistory history, List<String> problems) {
        if (monkey.workerKills() == 0 || monkey.workerStops() == 0) {
            problems.add("too few faults: " + monkey.workerKills() + " workers killed, " + monkey.workerStops()
                    + " stopped");
        }
        for (long pid : monkey.killedWorkers()) {
            if (history.exitOfPid(pid) == null) {
                problems.add("worker pid " + pid + " was killed, but its exit was never seen");
            }
        }
        for (long pid : monkey.stoppedWorkers()) {
            if (history.exitOfPid(pid) == null) {
                problems.add("worker pid " + pid + " was stopped, but its exit was never seen");
            }
        }
    }

    private static void expectEqual(String what, long expected, long actual, List<String> problems) {
        if (expected != actual) {
            problems.add(what + ": expected " + expected + ", was " + actual);
        }
    }

    private static Map<FailureReason, Long> nonZero(Map<FailureReason, Long> counts) {
        return counts.entrySet().stream().filter(e -> e.getValue() != 0)
                .collect(Collectors.toMap(Map.Entry::getKey, Map.Entry::getValue));
    }

    /**
     * Waits until none of the processes (pid and start time) is alive; names those that are not, and kills them so
     * that the next test starts clean.
     */
    private static void checkNoneAlive(List<long[]> processes, Duration within, List<String> problems) {
        try {
            await("the processes the tasks started to have ended").atMost(within).pollInterval(Duration.ofMillis(50))
                    .until(() -> alive(processes).isEmpty());
        } catch (ConditionTimeoutException e) {
            List<ProcStat> left = alive(processes);
            problems.add(left.size() + " of the " + processes.size() + " processes the tasks started outlived their "
                    + "workers and the pool, e.g. " + left.stream().limit(10).toList());
            left.forEach(process -> ProcStat.read(process.pid()).filter(p -> p.startTicks() == process.startTicks())
                    .flatMap(p -> ProcessHandle.of(p.pid())).ifPresent(ProcessHandle::destroyForcibly));
        }
    }

    private static List<ProcStat> alive(List<long[]> processes) {
        List<ProcStat> alive = new ArrayList<>();
        for (long[] process : processes) {
            ProcStat.read(process[0]).filter(p -> p.startTicks() == process[1] && !p.isZombie())
                    .ifPresent(alive::add);
        }
        return alive;
    }
}
