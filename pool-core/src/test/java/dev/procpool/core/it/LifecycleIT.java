package dev.procpool.core.it;

import dev.procpool.FailureReason;
import dev.procpool.PoolState;
import dev.procpool.TaskFailedException;
import dev.procpool.TaskHandle;
import dev.procpool.TaskRejectedException;
import dev.procpool.TaskRequest;
import dev.procpool.TaskState;
import dev.procpool.WorkerPool;
import dev.procpool.WorkerSnapshot;
import dev.procpool.core.testing.HostMain;
import dev.procpool.core.testing.ProcessLeakCheck;
import dev.procpool.core.testing.TestHandler;
import dev.procpool.core.testing.TestPools;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class LifecycleIT {
    private final ProcessLeakCheck leaks = ProcessLeakCheck.start();

    @AfterEach
    void nothingLeftBehind() {
        leaks.assertNoneLeft(Duration.ofSeconds(10));
    }

    private static WorkerPool pool(String name, int workers) {
        return WorkerPool.builder().name(name).workers(workers).worker(TestPools.javaWorker(TestHandler.class))
                .stopGracePeriod(Duration.ofSeconds(2)).start();
    }

    @Test
    void closeStopsEveryWorkerAndItsChildren() {
        WorkerPool pool = pool("close", 2);
        long child = ((Number) pool.submitTask("spawn-child", Map.of()).join().as(Map.class).get("child")).longValue();
        List<Long> pids = new ArrayList<>(pool.workers().stream().map(WorkerSnapshot::pid).toList());
        pids.add(child);
        leaks.record(child);
        assertTrue(pids.stream().allMatch(TestPools::alive));

        pool.close();

        assertEquals(PoolState.TERMINATED, pool.state());
        TestPools.assertAllDead(pids, Duration.ofSeconds(5));
        pool.close(); // idempotent
    }

    @Test
    void shutdownRejectsNewTasksAndLetsQueuedOnesFinish() throws Exception {
        WorkerPool pool = pool("drain", 1);
        List<Long> pids = pool.workers().stream().map(WorkerSnapshot::pid).toList();
        List<TaskHandle> handles = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            handles.add(pool.submitTask("sleep", Map.of("ms", 30)));
        }

        pool.shutdown();

        TaskRejectedException rejected = assertThrows(TaskRejectedException.class,
                () -> pool.submitTask("pid", Map.of()));
        assertEquals(TaskRejectedException.Kind.SHUT_DOWN, rejected.kind());
        assertTrue(rejected.getMessage().contains("drain"), rejected.getMessage());
        for (TaskHandle handle : handles) {
            assertEquals(Boolean.FALSE, handle.join().as(Map.class).get("cancelled"));
        }
        assertTrue(pool.awaitTermination(Duration.ofSeconds(10)));
        TestPools.assertAllDead(pids, Duration.ofSeconds(5));
        pool.close();
    }

    @Test
    void shutdownNowReturnsTasksThatNeverStartedAndCancelsTheRest(@TempDir Path dir) {
        WorkerPool pool = pool("now", 1);
        List<Long> pids = pool.workers().stream().map(WorkerSnapshot::pid).toList();
        TaskHandle running = pool.submitTask("await-file", Map.of("path", dir.resolve("never").toString()));
        await().atMost(Duration.ofSeconds(10)).until(() -> running.state() == TaskState.RUNNING);
        List<TaskHandle> queued = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            queued.add(pool.submitTask(TaskRequest.of("pid", Map.of()).withId("queued-" + i)));
        }

        List<TaskRequest> neverStarted = pool.shutdownNow();

        assertEquals(List.of("queued-0", "queued-1", "queued-2"),
                neverStarted.stream().map(r -> r.id().orElseThrow()).toList());
        for (TaskHandle handle : queued) {
            assertEquals(FailureReason.CANCELLED, assertThrows(TaskFailedException.class, handle::join).reason());
            assertEquals(TaskState.CANCELLED, handle.state());
        }
        assertEquals(FailureReason.CANCELLED, assertThrows(TaskFailedException.class, running::join).reason());
        assertEquals(PoolState.TERMINATED, pool.state());
        assertFalse(pids.stream().anyMatch(TestPools::alive), "shutdownNow returns after the workers exited");
        pool.close();
    }

    @Test
    void cancellingAQueuedTaskRemovesIt(@TempDir Path dir) {
        try (WorkerPool pool = pool("cancel", 1)) {
            TaskHandle running = pool.submitTask("await-file", Map.of("path", dir.resolve("never").toString()));
            TaskHandle queued = pool.submitTask("pid", Map.of());
            assertTrue(queued.cancel());
            assertFalse(queued.cancel(), "a task is cancelled once");
            assertEquals(FailureReason.CANCELLED, assertThrows(TaskFailedException.class, queued::join).reason());

            // A running task is cancelled on its worker, which answers and serves on.
            await().atMost(Duration.ofSeconds(10)).until(() -> running.state() == TaskState.RUNNING);
            long pid = pool.workers().get(0).pid();
            assertTrue(running.cancel());
            assertEquals(FailureReason.CANCELLED, assertThrows(TaskFailedException.class, running::join).reason());
            assertEquals(pid, pool.submitTask("pid", Map.of()).join().workerPid());
        }
    }

    @Test
    void workersDieWithAHostKilledBySigkill() throws Exception {
        Process host = new ProcessBuilder(TestPools.hostCommand(HostMain.class, List.of()))
                .redirectError(ProcessBuilder.Redirect.INHERIT).start();
        try {
            BufferedReader out = new BufferedReader(new InputStreamReader(host.getInputStream(),
                    StandardCharsets.UTF_8));
            String line;
            do {
                line = out.readLine();
            } while (line != null && !line.startsWith("PIDS "));
            assertTrue(line != null, "the host printed its worker pids");
            List<Long> pids = Arrays.stream(line.substring(5).trim().split(" ")).map(Long::parseLong).toList();
            assertEquals(3, pids.size(), "two workers and one worker's child: " + pids);
            pids.forEach(leaks::record);
            assertTrue(pids.stream().allMatch(TestPools::alive));

            host.destroyForcibly(); // SIGKILL: no shutdown hook runs
            assertTrue(host.waitFor(10, TimeUnit.SECONDS));
            assertEquals(137, host.exitValue());

            TestPools.assertAllDead(pids, Duration.ofSeconds(5));
        } finally {
            host.destroyForcibly();
        }
    }
}
