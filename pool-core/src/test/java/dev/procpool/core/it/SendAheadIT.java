package dev.procpool.core.it;

import dev.procpool.TaskHandle;
import dev.procpool.TaskResult;
import dev.procpool.WorkerPool;
import dev.procpool.core.testing.ProcessLeakCheck;
import dev.procpool.core.testing.TestHandler;
import dev.procpool.core.testing.TestPools;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Adaptive send-ahead (the default) with real Java workers: tiny tasks stream, and a long task never waits behind
 * another task at a busy worker while a worker that could run it is idle.
 */
class SendAheadIT {
    /** A long task waiting behind the 1 s one would take at least this long from its dispatch to its answer. */
    private static final Duration TRAPPED = Duration.ofMillis(900);

    @Test
    void longTasksNeverWaitBehindAnotherWorkersBacklogWhileAWorkerIsIdle() {
        ProcessLeakCheck leaks = ProcessLeakCheck.start();
        try (WorkerPool pool = WorkerPool.builder().name("send-ahead").workers(2)
                .worker(TestPools.javaWorker(TestHandler.class)).start()) {
            leaks.recordNow();
            // tiny tasks first: both workers measure them and open their windows
            List<TaskHandle> tiny = new ArrayList<>();
            for (int i = 0; i < 3000; i++) {
                tiny.add(pool.submitTask("echo", i));
            }
            tiny.forEach(TaskHandle::join);

            // then, all at once: one long task, three shorter long ones, and tiny ones behind them
            TaskHandle longest = pool.submitTask("sleep", Map.of("ms", 1000));
            List<TaskHandle> longer = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                longer.add(pool.submitTask("sleep", Map.of("ms", 100)));
            }
            List<TaskHandle> behind = new ArrayList<>();
            for (int i = 0; i < 40; i++) {
                behind.add(pool.submitTask("echo", i));
            }

            TaskResult longestResult = longest.join();
            for (TaskHandle handle : longer) {
                TaskResult result = handle.join();
                assertTrue(result.runTime().compareTo(TRAPPED) < 0, "a 100 ms task took " + result.runTime()
                        + " from dispatch to answer: it waited behind the 1 s task at " + result.workerId());
                assertTrue(!result.workerId().equals(longestResult.workerId()), "a 100 ms task ran on "
                        + result.workerId() + ", behind the 1 s task, while the other worker was free");
            }
            for (TaskHandle handle : behind) {
                TaskResult result = handle.join();
                assertTrue(result.runTime().compareTo(TRAPPED) < 0, "a tiny task took " + result.runTime()
                        + " from dispatch to answer on " + result.workerId());
            }
        }
        leaks.assertNoneLeft(Duration.ofSeconds(10));
    }
}
