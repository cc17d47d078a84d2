package dev.procpool.core.it;

import dev.procpool.FailureReason;
import dev.procpool.TaskFailedException;
import dev.procpool.TaskHandle;
import dev.procpool.TaskRejectedException;
import dev.procpool.TaskRequest;
import dev.procpool.TaskResult;
import dev.procpool.WorkerPool;
import dev.procpool.WorkerSnapshot;
import dev.procpool.core.testing.TestHandler;
import dev.procpool.core.testing.TestPools;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** One pool of four Java workers shared by the tests of the basic contract. */
class PoolBasicsIT {
    private static WorkerPool pool;
    private static List<Long> startPids;

    @BeforeAll
    static void startPool() {
        pool = WorkerPool.builder().name("basics").workers(4).worker(TestPools.javaWorker(TestHandler.class)).start();
        startPids = pool.workers().stream().map(WorkerSnapshot::pid).toList();
    }

    @AfterAll
    static void closePool() {
        pool.close();
        TestPools.assertAllDead(startPids, Duration.ofSeconds(5));
    }

    @Test
    void tenThousandTasksRunOnFourReusedWorkers() {
        int n = 10_000;
        AtomicInteger completions = new AtomicInteger();
        List<TaskHandle> handles = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            TaskHandle handle = pool.submitTask(TaskRequest.of("square", new TestHandler.Square(i)));
            handle.future().whenComplete((r, e) -> completions.incrementAndGet());
            handles.add(handle);
        }
        Set<Long> pids = new HashSet<>();
        for (int i = 0; i < n; i++) {
            TaskResult result = handles.get(i).join();
            TestHandler.Squared squared = result.as(TestHandler.Squared.class);
            assertEquals(i, squared.n());
            assertEquals((long) i * i, squared.square());
            assertEquals(squared.pid(), result.workerPid());
            pids.add(result.workerPid());
        }
        assertEquals(4, pids.size(), "tasks ran on 4 distinct worker processes");
        assertEquals(Set.copyOf(startPids), pids, "the workers are the ones started with the pool: no restarts");
        assertEquals(n, completions.get());
        assertEquals(startPids, pool.workers().stream().map(WorkerSnapshot::pid).toList());
    }

    @Test
    void handlerExceptionIsATypedFailureAndTheWorkerServesOn() {
        TaskHandle failing = pool.submitTask(TaskRequest.of("fail", Map.of("message", "bad input 42")));
        TaskFailedException failure = assertThrows(TaskFailedException.class, failing::join);
        assertEquals(FailureReason.HANDLER_ERROR, failure.reason());
        assertEquals("java.lang.IllegalStateException", failure.remoteError().orElseThrow().className());
        assertEquals("bad input 42", failure.remoteError().orElseThrow().message());
        assertTrue(failure.remoteError().orElseThrow().stack().contains("TestHandler.handle"));
        assertEquals(1, failure.attempts());

        TaskResult next = pool.submitTask("pid", Map.of()).join();
        assertTrue(startPids.contains(next.workerPid()), "a worker that was there from the start served on");
        assertEquals(startPids, pool.workers().stream().map(WorkerSnapshot::pid).toList());
    }

    @Test
    void printingToStdoutDoesNotBreakTheProtocol() {
        for (int i = 0; i < 20; i++) {
            TaskResult result = pool.submitTask("print", Map.of()).join();
            assertEquals(Boolean.TRUE, result.as(Map.class).get("printed"));
        }
        assertEquals(startPids, pool.workers().stream().map(WorkerSnapshot::pid).toList());
    }

    @Test
    void unknownTaskTypeIsRejectedAtSubmit() {
        TaskRejectedException rejected = assertThrows(TaskRejectedException.class,
                () -> pool.submitTask("no-such-type", Map.of()));
        assertEquals(TaskRejectedException.Kind.NO_CAPABLE_WORKER, rejected.kind());
        assertTrue(rejected.getMessage().contains("no-such-type"), rejected.getMessage());
        assertTrue(rejected.getMessage().contains("square"), rejected.getMessage());
    }

    @Test
    void payloadOverTheFrameLimitIsRejectedAtSubmit() {
        String big = "x".repeat(pool.config().maxFrameBytes());
        TaskRejectedException rejected = assertThrows(TaskRejectedException.class,
                () -> pool.submitTask("echo", Map.of("text", big)));
        assertEquals(TaskRejectedException.Kind.PAYLOAD_TOO_LARGE, rejected.kind());
        assertTrue(rejected.getMessage().contains(String.valueOf(pool.config().maxFrameBytes())));
    }

    @Test
    void payloadsAndResultsRoundTripAsJson() {
        Map<String, Object> payload = Map.of("name", "ünïcødé \"quoted\"\n", "list", List.of(1, 2.5, true),
                "nested", Map.of("a", Map.of()));
        TaskResult result = pool.submitTask(TaskRequest.of("echo", payload).withId("my-id-1")).join();
        assertEquals("my-id-1", result.taskId());
        assertEquals(payload, result.as(Map.class));
    }
}
