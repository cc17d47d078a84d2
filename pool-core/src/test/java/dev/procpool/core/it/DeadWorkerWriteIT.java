package dev.procpool.core.it;

import dev.procpool.FailureReason;
import dev.procpool.PoolEvent;
import dev.procpool.RetryPolicy;
import dev.procpool.TaskFailedException;
import dev.procpool.TaskHandle;
import dev.procpool.TaskRequest;
import dev.procpool.WorkerPool;
import dev.procpool.core.internal.process.ProcFs;
import dev.procpool.core.internal.process.ProcStat;
import dev.procpool.core.testing.EventLog;
import dev.procpool.core.testing.ProcessLeakCheck;
import dev.procpool.core.testing.TestPools;
import dev.procpool.core.testing.TreeHandler;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * A task sent to a worker that has just died, before the pool saw the death, fails the way a task on a dead worker
 * does ({@code WORKER_CRASHED}, with the worker's exit), not as a protocol error: writing its frame fails because the
 * worker is gone, not because the worker broke the protocol. The chaos run ({@link ChaosIT}) met this when a worker
 * was killed while the pool sent it its next task; here it is made certain: the worker writes its result and exits,
 * and the pool reads that result (and sends the next task) only once the worker is gone.
 */
class DeadWorkerWriteIT {
    private final ProcessLeakCheck leaks = ProcessLeakCheck.start();
    private final EventLog events = new EventLog();
    @TempDir
    Path dir;

    @BeforeEach
    void linuxOnly() {
        assumeTrue(ProcFs.available() && TestPools.onPath("setsid"), "Linux with /proc and setsid");
    }

    @AfterEach
    void nothingLeftBehind() {
        leaks.assertNoneLeft(Duration.ofSeconds(10));
    }

    @Test
    void aTaskSentToAWorkerThatHasJustDiedFailsAsACrashNotAsAProtocolError() throws Exception {
        try (WorkerPool pool = WorkerPool.builder().name("dead-write").workers(1)
                .worker(TestPools.javaWorker(TreeHandler.class))
                .stopGracePeriod(Duration.ofSeconds(1)).retryPolicy(RetryPolicy.none()).listener(events).start()) {
            Path pidFile = dir.resolve("pids");
            TaskHandle last = pool.submitTask(TaskRequest.of(TreeHandler.TREE,
                    Map.of("then", "result-then-halt", "pidFile", pidFile.toString())));
            AtomicReference<TaskHandle> next = new AtomicReference<>();
            // The worker reports progress, writes its result and halts. The pool's reader is held in this listener
            // until the worker is gone, and the next task is queued meanwhile: reading the result, the pool sends
            // it to the worker that is no longer there.
            last.onProgress(progress -> {
                ProcStat worker = ProcStat.read(Long.parseLong(progress.message().substring("pid ".length())))
                        .orElseThrow();
                next.set(pool.submitTask(TaskRequest.of(TreeHandler.FLOOD,
                        Map.of("mbPerSecond", 0, "seconds", 0))));
                await("the worker to exit").atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(10))
                        .until(() -> ProcStat.read(worker.pid()).map(now -> now.startTicks() != worker.startTicks()
                                || now.isZombie()).orElse(true));
            });
            await("the task to start its children").atMost(Duration.ofSeconds(30)).until(() -> Files.exists(pidFile));
            Files.readAllLines(pidFile).forEach(line -> leaks.record(Long.parseLong(line.split("=")[1])));
            Files.createFile(dir.resolve("pids.go"));

            last.await(Duration.ofSeconds(20));
            await("the next task to be submitted").atMost(Duration.ofSeconds(20)).until(() -> next.get() != null);
            TaskFailedException failure = assertThrows(TaskFailedException.class,
                    () -> next.get().await(Duration.ofSeconds(20)));

            assertEquals(FailureReason.WORKER_CRASHED, failure.reason(), "the worker had exited: " + failure
                    .failedAttempts());
            assertEquals(0, failure.failedAttempts().get(0).exitCode(), "the worker's exit is kept with the attempt");
            assertEquals(FailureReason.WORKER_CRASHED, events.all(PoolEvent.WorkerExited.class).get(0).cause());
        }
    }
}
