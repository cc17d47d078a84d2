package dev.procpool.core.it;

import dev.procpool.PoolConfig;
import dev.procpool.TaskHandle;
import dev.procpool.TaskRequest;
import dev.procpool.TaskState;
import dev.procpool.WorkerGroup;
import dev.procpool.WorkerPool;
import dev.procpool.WorkerSnapshot;
import dev.procpool.core.testing.TestHandler;
import dev.procpool.core.testing.TestPools;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The Java worker runtime with tasks sent ahead: the thread that runs a task keeps reading stdin only while the
 * task is short, and the answers of short tasks may go out together; neither may hold anything up behind a long
 * task.
 */
class WorkerRuntimeIT {

    private static WorkerPool pool(String name, int workers, int prefetch) {
        return pool(name, workers, 1, prefetch);
    }

    private static WorkerPool pool(String name, int workers, int concurrency, int prefetch) {
        return WorkerPool.builder().name(name)
                .group(WorkerGroup.builder(PoolConfig.DEFAULT_GROUP, TestPools.javaWorker(TestHandler.class))
                        .workers(workers).maxConcurrency(concurrency).prefetch(prefetch).build())
                .start();
    }

    @Test
    void answersOfShortTasksAndCancelsDoNotWaitBehindALongTask() {
        List<Long> pids;
        try (WorkerPool pool = pool("runtime-long", 1, 3)) {
            pids = pool.workers().stream().map(WorkerSnapshot::pid).toList();
            // Sent together: the worker reads the long task while the short ones are answered.
            TaskHandle first = pool.submitTask("echo", Map.of("n", 1));
            TaskHandle second = pool.submitTask("echo", Map.of("n", 2));
            TaskHandle longTask = pool.submitTask("sleep", Map.of("ms", 30_000));

            assertEquals(Map.of("n", 1), first.await(Duration.ofSeconds(5)).as(Map.class));
            assertEquals(Map.of("n", 2), second.await(Duration.ofSeconds(5)).as(Map.class));
            assertEquals(TaskState.RUNNING, longTask.state(), "the answers came while the long task runs");

            // The worker must read the cancel while the long task runs: the task notices it and frees the only
            // slot, so the next task runs long before the 30 s are over.
            assertTrue(longTask.cancel());
            TaskHandle after = pool.submitTask("echo", Map.of("n", 3));
            assertEquals(Map.of("n", 3), after.await(Duration.ofSeconds(10)).as(Map.class));
            assertEquals(pids, pool.workers().stream().map(WorkerSnapshot::pid).toList(),
                    "the worker answered the cancel and was kept");
        }
        TestPools.assertAllDead(pids, Duration.ofSeconds(10));
    }

    @Test
    void aBurstOfTinyTasksSentAheadEndsExactlyOnceEach() {
        List<Long> pids;
        try (WorkerPool pool = pool("runtime-burst", 2, 32)) {
            pids = pool.workers().stream().map(WorkerSnapshot::pid).toList();
            int n = 20_000;
            List<TaskHandle> handles = new ArrayList<>(n);
            for (int i = 0; i < n; i++) {
                handles.add(pool.submitTask(TaskRequest.of("echo", i)));
            }
            for (int i = 0; i < n; i++) {
                assertEquals(i, handles.get(i).await(Duration.ofSeconds(60)).as(Integer.class));
            }
            var tasks = pool.snapshot().tasks();
            assertEquals(n, tasks.completed());
            assertEquals(0, tasks.failed());
        }
        TestPools.assertAllDead(pids, Duration.ofSeconds(10));
    }

    @Test
    void theOtherSlotOfAWorkerKeepsServingBesideALongTask() {
        List<Long> pids;
        try (WorkerPool pool = pool("runtime-slots", 1, 2, 0)) {
            pids = pool.workers().stream().map(WorkerSnapshot::pid).toList();
            // The long task is read by the thread that takes the last free slot, which keeps the reading while it
            // runs; the thread that frees the other slot takes the reading over and serves the short tasks.
            TaskHandle warm = pool.submitTask("echo", Map.of("n", 0));
            TaskHandle longTask = pool.submitTask("sleep", Map.of("ms", 30_000));
            warm.await(Duration.ofSeconds(5));
            for (int i = 1; i <= 50; i++) {
                assertEquals(Map.of("n", i), pool.submitTask("echo", Map.of("n", i)).await(Duration.ofSeconds(5))
                        .as(Map.class));
            }
            assertEquals(TaskState.RUNNING, longTask.state());
            assertTrue(longTask.cancel());
        }
        TestPools.assertAllDead(pids, Duration.ofSeconds(10));
    }
}
