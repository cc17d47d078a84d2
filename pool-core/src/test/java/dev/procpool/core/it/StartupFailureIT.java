package dev.procpool.core.it;

import dev.procpool.FailureReason;
import dev.procpool.TaskFailedException;
import dev.procpool.TaskHandle;
import dev.procpool.TaskRejectedException;
import dev.procpool.TaskState;
import dev.procpool.WorkerGroup;
import dev.procpool.WorkerPool;
import dev.procpool.WorkerSpec;
import dev.procpool.WorkerStartupException;
import dev.procpool.core.testing.ProcessLeakCheck;
import dev.procpool.core.testing.TestHandler;
import dev.procpool.core.testing.TestPools;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Workers that cannot start fail the pool's start with a message that says why; nothing is left running. */
class StartupFailureIT {
    private final ProcessLeakCheck leaks = ProcessLeakCheck.start();

    @AfterEach
    void nothingLeftBehind() {
        leaks.assertNoneLeft(Duration.ofSeconds(10));
    }

    @Test
    void missingHandlerClassIsNamed() {
        IllegalArgumentException error = assertThrows(IllegalArgumentException.class, () -> WorkerPool.builder()
                .workers(1).worker(WorkerSpec.java(List.of("com.example.NoSuchHandler"))).start());
        assertTrue(error.getMessage().contains("com.example.NoSuchHandler"), error.getMessage());
        assertTrue(error.getMessage().contains("TaskHandler"), error.getMessage());
    }

    @Test
    void programThatDoesNotExistIsNamed() {
        WorkerStartupException error = assertThrows(WorkerStartupException.class, () -> WorkerPool.builder()
                .workers(2).command("/nonexistent/procpool-worker", "--flag").start());
        assertTrue(error.getMessage().contains("/nonexistent/procpool-worker"), error.getMessage());
    }

    @Test
    void workerThatExitsBeforeReadyReportsExitCodeAndStderr() {
        WorkerStartupException error = assertThrows(WorkerStartupException.class, () -> WorkerPool.builder()
                .workers(2).command("python3", "-c",
                        "import sys; sys.stderr.write('cannot load the model\\n'); sys.exit(3)").start());
        assertTrue(error.getMessage().contains("exit code 3"), error.getMessage());
        assertTrue(error.getMessage().contains("cannot load the model"), error.getMessage());
    }

    @Test
    void workerThatNeverSendsReadyTimesOut() {
        WorkerStartupException error = assertThrows(WorkerStartupException.class, () -> WorkerPool.builder()
                .workers(1).command("python3", "-c", "import time; time.sleep(120)")
                .startupTimeout(Duration.ofSeconds(1)).start());
        assertTrue(error.getMessage().contains("did not send ready within 1 s"), error.getMessage());
    }

    @Test
    void javaHandlerWhoseConstructorFailsReportsTheCause() {
        WorkerStartupException error = assertThrows(WorkerStartupException.class, () -> WorkerPool.builder()
                .workers(1).worker(TestPools.javaWorker(BrokenHandler.class)).start());
        assertTrue(error.getMessage().contains("model file missing"), error.getMessage());
        assertTrue(error.getMessage().contains("exit code 2"), error.getMessage());
    }

    @Test
    void tasksForAGroupWhoseWorkersCannotStartFailWithTheLaunchErrorAndNewOnesAreRefused() {
        // "square" runs on the good group; "x" only on the broken one, which starts empty and scales on backlog
        try (WorkerPool pool = WorkerPool.builder().name("cannot-start")
                .group(WorkerGroup.builder("good", TestPools.javaWorker(TestHandler.class)).workers(1).build())
                .group(WorkerGroup.builder("broken", WorkerSpec.command("/nonexistent/procpool-worker"))
                        .minWorkers(0).maxWorkers(1).build())
                .start()) {
            List<TaskHandle> queued = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                queued.add(pool.submitTask("x", Map.of("i", i)));
            }
            for (TaskHandle handle : queued) {
                TaskFailedException failure = assertThrows(TaskFailedException.class,
                        () -> handle.await(Duration.ofSeconds(20)));
                assertEquals(FailureReason.STARTUP_FAILURE, failure.reason());
                assertTrue(failure.getMessage().contains("/nonexistent/procpool-worker"), failure.getMessage());
                assertEquals(0, failure.attempts());
                assertEquals(TaskState.FAILED, handle.state());
            }
            TaskRejectedException refused = assertThrows(TaskRejectedException.class,
                    () -> pool.submitTask("x", Map.of()));
            assertEquals(TaskRejectedException.Kind.WORKERS_CANNOT_START, refused.kind());
            assertTrue(refused.getMessage().contains("group \"broken\""), refused.getMessage());
            // the other group is not affected
            assertEquals(16, pool.submitTask("square", new TestHandler.Square(4)).await(Duration.ofSeconds(10))
                    .as(TestHandler.Squared.class).square());
        }
    }

    /** A handler that cannot be created. */
    public static final class BrokenHandler implements dev.procpool.TaskHandler {
        public BrokenHandler() {
            throw new IllegalStateException("model file missing");
        }

        @Override
        public java.util.Set<String> taskTypes() {
            return java.util.Set.of("never");
        }

        @Override
        public Object handle(dev.procpool.TaskContext context) {
            return null;
        }
    }
}
