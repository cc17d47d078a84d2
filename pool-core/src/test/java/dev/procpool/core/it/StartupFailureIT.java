package dev.procpool.core.it;

import dev.procpool.WorkerPool;
import dev.procpool.WorkerSpec;
import dev.procpool.WorkerStartupException;
import dev.procpool.core.testing.ProcessLeakCheck;
import dev.procpool.core.testing.TestPools;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;

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
        assertTrue(error.getMessage().contains("did not send ready within PT1S"), error.getMessage());
    }

    @Test
    void javaHandlerWhoseConstructorFailsReportsTheCause() {
        WorkerStartupException error = assertThrows(WorkerStartupException.class, () -> WorkerPool.builder()
                .workers(1).worker(TestPools.javaWorker(BrokenHandler.class)).start());
        assertTrue(error.getMessage().contains("model file missing"), error.getMessage());
        assertTrue(error.getMessage().contains("exit code 2"), error.getMessage());
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
