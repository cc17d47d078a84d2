package dev.procpool.core.it;

import dev.procpool.FailureReason;
import dev.procpool.TaskFailedException;
import dev.procpool.TaskRejectedException;
import dev.procpool.TaskResult;
import dev.procpool.WorkerPool;
import dev.procpool.WorkerSnapshot;
import dev.procpool.core.testing.ProcessLeakCheck;
import dev.procpool.core.testing.TestPools;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The reference Python worker (standard library only, written from PROTOCOL.md) through the same API. */
class PythonWorkerIT {
    private static WorkerPool pool;
    private static List<Long> pids;
    private static ProcessLeakCheck leaks;

    @BeforeAll
    static void start() {
        leaks = ProcessLeakCheck.start();
        pool = WorkerPool.builder().name("python").workers(2).worker(TestPools.pythonWorker())
                .heartbeatInterval(Duration.ofMillis(200)).heartbeatTimeout(Duration.ofSeconds(5)).start();
        pids = pool.workers().stream().map(WorkerSnapshot::pid).toList();
    }

    @AfterAll
    static void stop() {
        pool.close();
        TestPools.assertAllDead(pids, Duration.ofSeconds(5));
        leaks.assertNoneLeft(Duration.ofSeconds(5));
    }

    @Test
    void servesTasksOnReusedWorkers() {
        List<TaskResult> results = new ArrayList<>();
        for (int i = 0; i < 200; i++) {
            results.add(pool.submitTask("add", Map.of("a", i, "b", 0.5)).join());
        }
        for (int i = 0; i < results.size(); i++) {
            assertEquals(i + 0.5, ((Number) results.get(i).as(Map.class).get("sum")).doubleValue());
        }
        assertEquals(Set.copyOf(pids), results.stream().map(TaskResult::workerPid).collect(Collectors.toSet()));
        assertEquals("ÉTÉ", pool.submitTask("upper", Map.of("text", "été")).join().as(Map.class).get("text"));
    }

    @Test
    void pythonExceptionsArriveTyped() {
        TaskFailedException failure = assertThrows(TaskFailedException.class,
                () -> pool.submitTask("fail", Map.of("message", "no good")).join());
        assertEquals(FailureReason.HANDLER_ERROR, failure.reason());
        assertEquals("ValueError", failure.remoteError().orElseThrow().className());
        assertEquals("no good", failure.remoteError().orElseThrow().message());
        assertTrue(failure.remoteError().orElseThrow().stack().contains("Traceback"));
    }

    @Test
    void garbageOnStdoutIsLoggedNotFatal() {
        for (int i = 0; i < 5; i++) {
            assertEquals(Boolean.TRUE, pool.submitTask("garbage", Map.of()).join().as(Map.class).get("ok"));
        }
        assertEquals(pids, pool.workers().stream().map(WorkerSnapshot::pid).toList());
    }

    @Test
    void typesTheWorkersDoNotAnnounceAreRejected() {
        TaskRejectedException rejected = assertThrows(TaskRejectedException.class,
                () -> pool.submitTask("square", Map.of()));
        assertEquals(TaskRejectedException.Kind.NO_CAPABLE_WORKER, rejected.kind());
    }
}
