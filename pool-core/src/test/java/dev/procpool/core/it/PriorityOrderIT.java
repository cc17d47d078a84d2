package dev.procpool.core.it;

import dev.procpool.TaskHandle;
import dev.procpool.TaskRequest;
import dev.procpool.TaskState;
import dev.procpool.WorkerPool;
import dev.procpool.core.testing.ProcessLeakCheck;
import dev.procpool.core.testing.TestHandler;
import dev.procpool.core.testing.TestPools;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;

class PriorityOrderIT {

    @Test
    void oneWorkerRunsQueuedTasksByPriorityThenSubmissionOrder(@TempDir Path dir) throws Exception {
        ProcessLeakCheck leaks = ProcessLeakCheck.start();
        Path gate = dir.resolve("open");
        try (WorkerPool pool = WorkerPool.builder().name("priority").workers(1)
                .worker(TestPools.javaWorker(TestHandler.class)).start()) {
            // Hold the only worker until every task below is queued.
            TaskHandle blocker = pool.submitTask("await-file", Map.of("path", gate.toString()));
            await().atMost(Duration.ofSeconds(10)).until(() -> blocker.state() == TaskState.RUNNING);

            int[] priorities = {50, 10, 0, 10, 100, 0, 50, 10, 7, 0};
            List<TaskHandle> handles = new ArrayList<>();
            for (int i = 0; i < priorities.length; i++) {
                handles.add(pool.submitTask(TaskRequest.of("pid", Map.of()).withPriority(priorities[i])
                        .withId("p" + priorities[i] + "-n" + i)));
            }
            Files.createFile(gate);
            blocker.join();

            List<String> ran = handles.stream()
                    .sorted(Comparator.comparingLong(h -> ((Number) h.join().as(Map.class).get("order")).longValue()))
                    .map(TaskHandle::id).toList();
            List<String> expected = handles.stream()
                    .sorted(Comparator.comparingInt((TaskHandle h) -> h.request().priority())
                            .thenComparingInt(handles::indexOf))
                    .map(TaskHandle::id).toList();
            assertEquals(expected, ran);
        }
        leaks.assertNoneLeft(Duration.ofSeconds(5));
    }
}
