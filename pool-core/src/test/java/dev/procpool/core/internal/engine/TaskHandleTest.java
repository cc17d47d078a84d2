package dev.procpool.core.internal.engine;

import dev.procpool.AwaitTimeoutException;
import dev.procpool.TaskState;
import dev.procpool.WorkerGroup;
import dev.procpool.WorkerSpec;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** What a caller's handle says about its task: which worker runs it, and a wait that runs out. */
class TaskHandleTest {
    private final EngineHarness h = new EngineHarness(
            WorkerGroup.builder("default", WorkerSpec.command("fake-worker")).workers(2).build()).startReady();

    @AfterEach
    void close() {
        h.close();
    }

    @Test
    void theHandleNamesTheWorkerOfTheCurrentOrLastAttempt() {
        DefaultTaskHandle first = new DefaultTaskHandle(h.submit("a"), h.engine::cancel);
        DefaultTaskHandle second = new DefaultTaskHandle(h.submit("b"), h.engine::cancel);
        DefaultTaskHandle queuedBehind = new DefaultTaskHandle(h.submit("c"), h.engine::cancel);
        assertEquals(Optional.of("w-1"), first.workerId());
        assertEquals(Optional.of("w-2"), second.workerId());
        assertEquals(Optional.empty(), queuedBehind.workerId(), "not dispatched yet");
        h.workers.get("w-1").result("a", "1");
        assertEquals(Optional.of("w-1"), first.workerId(), "the worker that ran its last attempt");
        assertEquals(Optional.of("w-1"), queuedBehind.workerId(), "c took the slot a freed");
    }

    @Test
    void aWaitThatRunsOutIsATypedTimeoutWhoseMessageMatchesTheState() {
        DefaultTaskHandle handle = new DefaultTaskHandle(h.submit("slow"), h.engine::cancel);
        AwaitTimeoutException timeout = assertThrows(AwaitTimeoutException.class,
                () -> handle.await(Duration.ofMillis(1)));
        assertEquals("slow", timeout.taskId());
        assertEquals(TaskState.RUNNING, timeout.state());
        assertEquals(Duration.ofMillis(1), timeout.waited());
        assertTrue(timeout.getMessage().contains("did not end within 1 ms"), timeout.getMessage());
        assertTrue(timeout.getMessage().contains("RUNNING"), timeout.getMessage());
        assertFalse(timeout.getMessage().contains("PT"), "durations are for people: " + timeout.getMessage());

        h.workers.get("w-1").result("slow", "42");
        assertEquals("42", handle.await(Duration.ofNanos(1)).json(),
                "a task that has ended answers even the shortest wait with its outcome");
    }
}
