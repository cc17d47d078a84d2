package dev.procpool.core.it;

import dev.procpool.PoolEvent;
import dev.procpool.TaskHandle;
import dev.procpool.TaskRequest;
import dev.procpool.TaskResult;
import dev.procpool.WorkerGroup;
import dev.procpool.WorkerPool;
import dev.procpool.WorkerSnapshot;
import dev.procpool.core.testing.EventLog;
import dev.procpool.core.testing.ProcessLeakCheck;
import dev.procpool.core.testing.Signals;
import dev.procpool.core.testing.TestHandler;
import dev.procpool.core.testing.TestPools;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Routing and scaling with real worker processes. */
class RoutingIT {
    private final ProcessLeakCheck leaks = ProcessLeakCheck.start();

    @AfterEach
    void nothingLeftBehind() {
        leaks.assertNoneLeft(Duration.ofSeconds(10));
    }

    @Test
    void twoGroupsOfDifferentCapabilitiesOneOfThemPython() {
        try (WorkerPool pool = WorkerPool.builder().name("polyglot")
                .group(WorkerGroup.builder("jvm", TestPools.javaWorker(TestHandler.class)).workers(2)
                        .capabilities("java").build())
                .group(WorkerGroup.builder("py", TestPools.pythonWorker()).workers(1).capabilities("ml").build())
                .start()) {
            Set<Long> javaPids = pids(pool, "jvm");
            Set<Long> pythonPids = pids(pool, "py");

            for (int i = 0; i < 20; i++) {
                TaskResult echoed = pool.submitTask(TaskRequest.of("echo", Map.of("i", i))
                        .withRequiredCapabilities("ml")).await(Duration.ofSeconds(10));
                assertTrue(pythonPids.contains(echoed.workerPid()), "echo requiring ml ran on Python");
                TaskResult squared = pool.submitTask(TaskRequest.of("square", new TestHandler.Square(i))
                        .withRequiredCapabilities("java")).await(Duration.ofSeconds(10));
                assertTrue(javaPids.contains(squared.workerPid()), "square ran on the JVM workers");
                TaskResult added = pool.submitTask("add", Map.of("a", i, "b", 1)).await(Duration.ofSeconds(10));
                assertTrue(pythonPids.contains(added.workerPid()), "only Python serves add");
            }
            // The Python worker announced its own capability too.
            TaskResult announced = pool.submitTask(TaskRequest.of("pid", Map.of()).withRequiredCapabilities("python"))
                    .await(Duration.ofSeconds(10));
            assertTrue(pythonPids.contains(announced.workerPid()));
        }
    }

    private static Set<Long> pids(WorkerPool pool, String group) {
        Set<Long> pids = new HashSet<>();
        pool.workers().stream().filter(w -> w.group().equals(group)).forEach(w -> pids.add(w.pid()));
        return pids;
    }

    @Test
    void anAffinityKeyStaysOnItsWorkerAndMovesWhenThatWorkerDies() {
        try (WorkerPool pool = WorkerPool.builder().name("sticky").workers(3)
                .worker(TestPools.javaWorker(TestHandler.class)).start()) {
            Set<Long> first = new HashSet<>();
            for (int i = 0; i < 30; i++) {
                first.add(pool.submitTask(TaskRequest.of("pid", Map.of()).withAffinityKey("repo-1"))
                        .await(Duration.ofSeconds(10)).workerPid());
                pool.submitTask("pid", Map.of()).await(Duration.ofSeconds(10));
            }
            assertEquals(1, first.size(), "one worker for the key: " + first);
            long home = first.iterator().next();

            Signals.send("KILL", home);
            TestPools.assertAllDead(List.of(home), Duration.ofSeconds(5));

            Set<Long> second = new HashSet<>();
            for (int i = 0; i < 30; i++) {
                second.add(pool.submitTask(TaskRequest.of("pid", Map.of()).withAffinityKey("repo-1"))
                        .await(Duration.ofSeconds(10)).workerPid());
                pool.submitTask("pid", Map.of()).await(Duration.ofSeconds(10));
            }
            assertEquals(1, second.size(), "again one worker for the key: " + second);
            assertNotEquals(home, second.iterator().next());
        }
    }

    @Test
    void backlogScalesRealWorkersUpAndIdlenessDown(@TempDir Path dir) throws Exception {
        EventLog events = new EventLog();
        Path gate = dir.resolve("open");
        try (WorkerPool pool = WorkerPool.builder().name("elastic")
                .group(WorkerGroup.builder("workers", TestPools.javaWorker(TestHandler.class))
                        .minWorkers(1).maxWorkers(3).idleTimeout(Duration.ofMillis(500)).build())
                .listener(events).start()) {
            assertEquals(1, pool.workers().size());
            List<TaskHandle> handles = new ArrayList<>();
            for (int i = 0; i < 6; i++) {
                handles.add(pool.submitTask("await-file", Map.of("path", gate.toString())));
            }
            await().atMost(Duration.ofSeconds(20)).until(() -> pool.workers().stream()
                    .filter(w -> !w.currentTasks().isEmpty()).count() == 3);
            assertEquals(3, pool.workers().size(), "never above the maximum");

            Files.createFile(gate);
            Set<Long> pids = new HashSet<>();
            for (TaskHandle handle : handles) {
                pids.add(handle.await(Duration.ofSeconds(20)).workerPid());
            }
            assertEquals(3, pids.size());
            await().atMost(Duration.ofSeconds(15)).until(() -> pool.workers().size() == 1);
            List<PoolEvent.Scaled> scaled = events.all(PoolEvent.Scaled.class);
            assertTrue(scaled.stream().anyMatch(e -> e.to() > e.from()), scaled.toString());
            assertTrue(scaled.stream().anyMatch(e -> e.to() == 1 && e.from() > 1), scaled.toString());
            List<Long> retired = new ArrayList<>(pids);
            retired.removeAll(pool.workers().stream().map(WorkerSnapshot::pid).toList());
            TestPools.assertAllDead(retired, Duration.ofSeconds(10));
        }
    }

    @Test
    void aWorkerAcceptsSeveralTasksAtOnceWhenItsGroupAllowsIt(@TempDir Path dir) throws Exception {
        Path gate = dir.resolve("open");
        try (WorkerPool pool = WorkerPool.builder().name("concurrent")
                .group(WorkerGroup.builder("jvm", TestPools.javaWorker(TestHandler.class)).workers(1)
                        .maxConcurrency(3).build())
                .group(WorkerGroup.builder("py", TestPools.pythonWorker()).workers(1).maxConcurrency(3).build())
                .start()) {
            List<TaskHandle> handles = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                handles.add(pool.submitTask(TaskRequest.of("await-file", Map.of("path", gate.toString()))));
            }
            await().atMost(Duration.ofSeconds(10)).until(() -> handles.stream()
                    .allMatch(h -> h.state() == dev.procpool.TaskState.RUNNING));
            WorkerSnapshot jvm = pool.workers().stream().filter(w -> w.group().equals("jvm")).findFirst()
                    .orElseThrow();
            assertEquals(3, jvm.currentTasks().size(), "three tasks in flight on one worker, correlated by id");

            // The Python worker announced a concurrency of 1, which caps the group's 3.
            List<TaskHandle> sleepers = List.of(
                    pool.submitTask(TaskRequest.of("sleep", Map.of("ms", 300)).withRequiredCapabilities("python")),
                    pool.submitTask(TaskRequest.of("sleep", Map.of("ms", 300)).withRequiredCapabilities("python")));
            await().atMost(Duration.ofSeconds(10)).until(() -> sleepers.get(0).state() == dev.procpool.TaskState.RUNNING
                    || sleepers.get(1).state() == dev.procpool.TaskState.RUNNING);
            assertTrue(pool.workers().stream().filter(w -> w.group().equals("py")).findFirst().orElseThrow()
                    .currentTasks().size() <= 1, "one task at a time on the Python worker");

            Files.createFile(gate);
            Set<Long> pids = new HashSet<>();
            for (TaskHandle handle : handles) {
                pids.add(handle.await(Duration.ofSeconds(10)).workerPid());
            }
            assertEquals(Set.of(jvm.pid()), pids);
            for (TaskHandle sleeper : sleepers) {
                sleeper.await(Duration.ofSeconds(10));
            }
        }
    }
}
