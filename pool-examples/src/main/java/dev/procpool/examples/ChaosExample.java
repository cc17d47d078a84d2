package dev.procpool.examples;

import dev.procpool.AttemptRecord;
import dev.procpool.DeadLetter;
import dev.procpool.PoolEvent;
import dev.procpool.PoolListener;
import dev.procpool.PoolSnapshot;
import dev.procpool.RestartPolicy;
import dev.procpool.RetryPolicy;
import dev.procpool.TaskFailedException;
import dev.procpool.TaskHandle;
import dev.procpool.TaskRequest;
import dev.procpool.TaskResult;
import dev.procpool.WorkerPool;
import dev.procpool.WorkerSnapshot;
import dev.procpool.WorkerSpec;
import dev.procpool.WorkerState;
import dev.procpool.core.testing.FaultInjectionHandler;

import java.io.PrintStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;

/**
 * Real faults against real worker processes. Three workers running {@link FaultInjectionHandler} serve ordinary
 * tasks mixed with tasks that crash their worker, SIGKILL it, spin past their timeout, stop heartbeating, exhaust
 * the heap, or write garbage where protocol frames go. A {@link PoolListener} narrates what the pool does about
 * each; at the end the program prints every task's outcome, the dead-letter queue with each attempt's forensics,
 * and the pool's metrics. It takes about 15 seconds.
 *
 * <pre>mvn -q -pl pool-examples exec:exec -Dexample.main=dev.procpool.examples.ChaosExample</pre>
 *
 * <p>Optional: {@code --jvm-options "FLAGS"} adds options to the worker JVMs. Exit status 0. The pool also logs
 * its own warnings (a zombie, a worker's last words, garbage on stdout) to stderr.
 */
public final class ChaosExample {
    /** A stack frame of a {@link dev.procpool.TaskHandler#handle} method, as a thread dump prints it. */
    private static final Pattern HANDLER_FRAME = Pattern.compile("\\bat \\S+\\.handle\\(");

    private ChaosExample() {
    }

    public static void main(String[] args) throws Exception {
        System.exit(run(args, System.out));
    }

    /** Runs the example, printing to {@code out}; returns the exit status. */
    public static int run(String[] args, PrintStream out) throws InterruptedException {
        List<String> jvmOptions = args.length == 2 && args[0].equals("--jvm-options")
                ? Arrays.stream(args[1].trim().split("\\s+")).filter(s -> !s.isEmpty()).toList()
                : List.of();
        Narrator narrator = new Narrator(out);

        WorkerSpec.Java spec = WorkerSpec.java(FaultInjectionHandler.class)
                .withExtraJvmOptions(List.of("-Xmx128m")) // a small heap, so "oom" runs out of it quickly
                .withExtraJvmOptions(jvmOptions);
        try (WorkerPool pool = WorkerPool.builder()
                .name("chaos")
                .workers(3)
                .worker(spec)
                // Tight settings, so that faults are found and handled within a second or two:
                .heartbeatInterval(Duration.ofMillis(200))  // workers send a heartbeat every 200 ms...
                .heartbeatTimeout(Duration.ofSeconds(1))    // ...and are zombies after 1 s of silence
                .stopGracePeriod(Duration.ofSeconds(1))     // each step of stopping a worker waits at most 1 s
                .cancelGracePeriod(Duration.ofMillis(500))  // a timed-out task has 500 ms to stop, or its worker goes
                .retryPolicy(RetryPolicy.builder()          // two attempts in all, the second 100 ms after the first
                        .maxAttempts(2).initialDelay(Duration.ofMillis(100)).build())
                // Quick replacements; the default (10 restarts a minute, backoff up to 30 s) is right for production
                // but would turn this deliberately crash-heavy pool DEGRADED and slow its replacements down.
                .restartPolicy(RestartPolicy.builder().initialDelay(Duration.ofMillis(50))
                        .maxDelay(Duration.ofSeconds(1)).maxRestarts(20).window(Duration.ofMinutes(1)).build())
                .listener(narrator) // registered before start(): it hears the first workers start too
                .start()) {

            // 24 ordinary tasks (sleep 100 ms), with one fault after every fourth.
            List<TaskRequest> faults = List.of(
                    // exits with code 3 -> WORKER_CRASHED; retried on a fresh worker, crashes again, dead-lettered
                    fault("crash", Map.of("fault", "crash", "code", 3)),
                    // SIGKILLs itself, as the kernel's OOM killer would -> WORKER_CRASHED with signal 9
                    fault("kill", Map.of("fault", "kill")),
                    // spins, deaf to cancel, past its 500 ms timeout -> TIMEOUT (not retried); the worker is replaced
                    fault("busy-loop", Map.of("fault", "busy-loop")).withTimeout(Duration.ofMillis(500)),
                    // stops heartbeating -> a zombie after 1 s: thread dump, SIGTERM, SIGKILL -> HUNG, retried
                    fault("silent-hang", Map.of("fault", "silent-hang")),
                    // fills its 128 MiB heap; the JVM exits on OutOfMemoryError -> OUT_OF_MEMORY, retried
                    fault("oom", Map.of("fault", "oom")),
                    // writes lines that are not frames to the protocol channel: logged and ignored; succeeds
                    fault("garbage", Map.of("fault", "garbage", "lines", 2)));
            List<TaskHandle> ordinary = new ArrayList<>();
            List<TaskHandle> faulty = new ArrayList<>();
            for (int i = 1; i <= 24; i++) {
                ordinary.add(pool.submitTask(TaskRequest.of(FaultInjectionHandler.TASK_TYPE,
                        Map.of("fault", "sleep", "ms", 100)).withId("ok-" + i)));
                if (i % 4 == 0) {
                    faulty.add(pool.submitTask(faults.get(i / 4 - 1)));
                }
            }
            out.printf("%s Submitted %d ordinary tasks and %d faults to %d workers%n", narrator.clock(),
                    ordinary.size(), faulty.size(), pool.workers().size());

            // Wait for every task to end (each one does, one way or the other) ...
            for (TaskHandle handle : ordinary) {
                outcome(handle);
            }
            for (TaskHandle handle : faulty) {
                outcome(handle);
            }
            // ... and for the pool to heal: three healthy idle workers, and no event for half a second.
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (System.nanoTime() < deadline && !(healed(pool, 3) && narrator.quietFor(500))) {
                Thread.sleep(50);
            }
            pool.removeListener(narrator);
            out.printf("%s All tasks ended; %d healthy workers%n%n", narrator.clock(),
                    pool.workers().stream().filter(WorkerSnapshot::healthy).count());

            printOutcomes(ordinary, faulty, out);
            printDeadLetters(pool.deadLetters().list(), out);
            printMetrics(pool.snapshot(), out);
        } // close(): stops the workers; no process outlives the pool
        return 0;
    }

    private static TaskRequest fault(String id, Map<String, Object> payload) {
        return TaskRequest.of(FaultInjectionHandler.TASK_TYPE, payload).withId(id);
    }

    /** Waits for a task; returns its result, or {@code null} if it failed. */
    private static TaskResult outcome(TaskHandle handle) {
        try {
            return handle.await(Duration.ofSeconds(60));
        } catch (TaskFailedException e) {
            return null;
        }
    }

    private static boolean healed(WorkerPool pool, int workers) {
        return pool.workers().stream().filter(w -> w.healthy() && w.state() == WorkerState.IDLE).count() == workers;
    }

    private static void printOutcomes(List<TaskHandle> ordinary, List<TaskHandle> faulty, PrintStream out) {
        Set<Long> pids = new HashSet<>();
        long succeeded = 0;
        for (TaskHandle handle : ordinary) {
            TaskResult result = outcome(handle); // already ended: returns at once
            if (result != null) {
                succeeded++;
                pids.add(result.workerPid());
            }
        }
        out.println("Outcomes:");
        out.printf("  %d ordinary tasks: %d succeeded, on %d different worker processes%n", ordinary.size(),
                succeeded, pids.size());
        for (TaskHandle handle : faulty) {
            try {
                TaskResult result = handle.join();
                out.printf("  %-12s %-14s %s on %s, attempt %d%n", handle.id(), handle.state(), result.json(),
                        result.workerId(), result.attempt());
            } catch (TaskFailedException e) {
                out.printf("  %-12s %-14s %s after %d attempt(s)%n", handle.id(), handle.state(), e.reason(),
                        e.attempts());
                printAttempts(e.failedAttempts(), out); // the forensics come with every failure
            }
        }
        out.println();
    }

    /** Each failed attempt: its worker, pid, reason, exit status, duration, memory and last words. */
    private static void printAttempts(List<AttemptRecord> attempts, PrintStream out) {
        for (AttemptRecord attempt : attempts) {
            String exit = attempt.signal() != null ? "signal " + attempt.signal()
                    : attempt.exitCode() != null ? "exit code " + attempt.exitCode() : "worker kept";
            out.printf(Locale.ROOT, "      attempt %d on %s (pid %d): %s, %s, %d ms, peak RSS %s%n",
                    attempt.attempt(), attempt.workerId(), attempt.workerPid(), attempt.reason(), exit,
                    attempt.duration().toMillis(), mebibytes(attempt.peakRssBytes()));
            out.println("        why: " + attempt.detail());
            for (String line : lastWords(attempt.stderrTail())) {
                out.println("        | " + (line.length() > 110 ? line.substring(0, 110) + "..." : line));
            }
        }
    }

    /**
     * The dead-letter queue: the tasks the pool gave up retrying (their attempts are shown with the outcomes above),
     * kept to be looked at, redriven or purged.
     */
    private static void printDeadLetters(List<DeadLetter> letters, PrintStream out) {
        out.printf("Dead-letter queue: %d entries%n", letters.size());
        for (DeadLetter letter : letters) {
            out.printf("  %s: %s after %d attempts, payload %s%n", letter.taskId(), letter.reason(),
                    letter.attempts().size(), letter.payloadJson());
        }
        out.println();
    }

    /**
     * The telling lines of an attempt's output. A JVM worker that hangs or overruns its timeout is asked for a
     * thread dump before it is killed: then show where the handler was (its thread's state down to the
     * {@code handle} frame). Otherwise show the last three lines.
     */
    private static List<String> lastWords(List<String> tail) {
        for (int i = 0; i < tail.size(); i++) {
            if (HANDLER_FRAME.matcher(tail.get(i)).find()) {
                int from = i;
                while (from > Math.max(0, i - 4) && !tail.get(from).contains("java.lang.Thread.State")) {
                    from--;
                }
                return tail.subList(from, i + 1).stream().map(line -> line.replace('\t', ' ')).toList();
            }
        }
        return tail.subList(Math.max(0, tail.size() - 3), tail.size());
    }

    private static void printMetrics(PoolSnapshot metrics, PrintStream out) {
        PoolSnapshot.Tasks tasks = metrics.tasks();
        PoolSnapshot.Performance performance = metrics.performance();
        out.println("Pool metrics:");
        out.printf("  tasks: %d submitted, %d succeeded, %d failed, %d dead-lettered, %d retries%n",
                tasks.submitted(), tasks.completed(), tasks.failed(), tasks.deadLettered(), tasks.retried());
        out.printf("  failed attempts by reason: %s%n", tasks.attemptFailures());
        out.printf(Locale.ROOT, "  workers: %d started, %d restarts, %d zombies detected, %.1f tasks per worker%n",
                performance.workersSpawned(), performance.restarts(), performance.zombiesDetected(),
                performance.workerReuseRate());
        out.printf("  state %s, health %s %s%n", metrics.pool().state(), metrics.health().status(),
                metrics.health().alerts());
    }

    private static String mebibytes(long bytes) {
        return bytes == 0 ? "n/a" : (bytes >> 20) + " MiB";
    }

    /**
     * Tells what the pool does, as it happens. Events arrive in order on the pool's event thread; this prints one
     * line for each that shows the pool handling a fault (ordinary task events are left out).
     */
    private static final class Narrator implements PoolListener {
        private final PrintStream out;
        private final long started = System.nanoTime();
        private volatile long lastEvent = System.nanoTime();

        Narrator(PrintStream out) {
            this.out = out;
        }

        @Override
        public void onEvent(PoolEvent event) {
            lastEvent = System.nanoTime();
            if (event instanceof PoolEvent.WorkerStarted e) {
                say("%s ready (pid %d, started in %d ms)", e.workerId(), e.pid(), e.startupTime().toMillis());
            } else if (event instanceof PoolEvent.WorkerExited e && e.cause() != null) {
                say("%s (pid %d) is gone: %s -> %s", e.workerId(), e.pid(), e.exitStatus(), e.cause());
            } else if (event instanceof PoolEvent.ZombieDetected e) {
                say("%s (pid %d) silent for %d ms: a zombie, stopping it", e.workerId(), e.pid(),
                        e.silence().toMillis());
            } else if (event instanceof PoolEvent.WorkerRestarting e) {
                say("replacing %s in %d ms", e.replacedWorkerId(), e.delay().toMillis());
            } else if (event instanceof PoolEvent.TaskFailed e) {
                say("task %s: attempt %d failed with %s%s", e.taskId(), e.attempt(), e.reason(),
                        e.willRetry() ? ", will retry" : "");
            } else if (event instanceof PoolEvent.TaskRetried e) {
                say("task %s: attempt %d in %d ms", e.taskId(), e.nextAttempt(), e.delay().toMillis());
            } else if (event instanceof PoolEvent.TaskDeadLettered e) {
                say("task %s: dead-lettered after %d attempt(s) (%s)", e.entry().taskId(), e.entry().attempts().size(),
                        e.entry().reason());
            } else if (event instanceof PoolEvent.HealthChanged e) {
                say("pool health %s -> %s %s", e.from().status(), e.to().status(), e.to().alerts());
            }
        }

        /** Seconds since the start, as a line prefix. */
        String clock() {
            return String.format(Locale.ROOT, "[%5.2f s]", (System.nanoTime() - started) / 1e9);
        }

        boolean quietFor(long millis) {
            return System.nanoTime() - lastEvent > TimeUnit.MILLISECONDS.toNanos(millis);
        }

        private void say(String format, Object... args) {
            out.println(clock() + " " + String.format(Locale.ROOT, format, args));
        }
    }
}
