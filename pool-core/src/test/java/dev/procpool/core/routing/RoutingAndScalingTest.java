package dev.procpool.core.routing;

import dev.procpool.PoolEvent;
import dev.procpool.TaskContext;
import dev.procpool.TaskHandle;
import dev.procpool.TaskHandler;
import dev.procpool.TaskRejectedException;
import dev.procpool.TaskRequest;
import dev.procpool.TaskResult;
import dev.procpool.TaskState;
import dev.procpool.WorkerGroup;
import dev.procpool.WorkerPool;
import dev.procpool.WorkerSpec;
import dev.procpool.core.testing.EventLog;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Routing, backpressure, aging and scaling through the public API, on in-process workers (same dispatcher, no
 * processes), so these run with the fast unit tests.
 */
class RoutingAndScalingTest {

    /** "gate" waits until its named gate opens; "work" returns the worker thread's name after {@code ms}. */
    public static final class GateHandler implements TaskHandler {
        static final Map<String, CountDownLatch> GATES = new ConcurrentHashMap<>();

        @Override
        public Set<String> taskTypes() {
            return Set.of("gate", "work");
        }

        @Override
        public Object handle(TaskContext context) throws Exception {
            Map<?, ?> payload = context.payload(Map.class);
            if (context.taskType().equals("gate")) {
                gate((String) payload.get("name")).await(30, TimeUnit.SECONDS);
            } else if (payload.get("ms") instanceof Number ms && ms.intValue() > 0) {
                burnCpu(ms.intValue()); // the task's own work
            }
            return Map.of("thread", Thread.currentThread().getName());
        }

        /** Work that takes about {@code ms} milliseconds of CPU. */
        private static void burnCpu(int ms) {
            long until = System.nanoTime() + ms * 1_000_000L;
            while (System.nanoTime() < until) {
                Thread.onSpinWait();
            }
        }

        static CountDownLatch gate(String name) {
            return GATES.computeIfAbsent(name, n -> new CountDownLatch(1));
        }
    }

    private static String newGate() {
        return "gate-" + UUID.randomUUID();
    }

    private static Map<String, Object> gatePayload(String gate) {
        return Map.of("name", gate);
    }

    private static WorkerGroup.Builder group(String name) {
        return WorkerGroup.builder(name, WorkerSpec.inProcess(GateHandler.class));
    }

    @Test
    void tasksGoOnlyToWorkersWithTheirCapabilitiesWithoutHeadOfLineBlocking() {
        String gate = newGate();
        try (WorkerPool pool = WorkerPool.builder().name("caps")
                .group(group("gpu").workers(1).capabilities("gpu").build())
                .group(group("cpu").workers(1).capabilities("cpu").build())
                .start()) {
            TaskHandle blocking = pool.submitTask(TaskRequest.of("gate", gatePayload(gate))
                    .withRequiredCapabilities("gpu"));
            TaskHandle waitingForGpu = pool.submitTask(TaskRequest.of("work", Map.of())
                    .withRequiredCapabilities("gpu").withPriority(0));
            // Lowest priority, behind a task that must wait: the idle cpu worker runs it now.
            TaskResult plain = pool.submitTask(TaskRequest.of("work", Map.of()).withPriority(100))
                    .await(Duration.ofSeconds(5));
            assertTrue(plain.workerId().equals(workerOf(pool, "cpu")), plain.workerId());
            assertEquals(TaskState.QUEUED, waitingForGpu.state());

            GateHandler.gate(gate).countDown();
            assertEquals(workerOf(pool, "gpu"), blocking.await(Duration.ofSeconds(5)).workerId());
            assertEquals(workerOf(pool, "gpu"), waitingForGpu.await(Duration.ofSeconds(5)).workerId());

            TaskRejectedException rejected = assertThrows(TaskRejectedException.class,
                    () -> pool.submitTask(TaskRequest.of("work", Map.of()).withRequiredCapabilities("tpu")));
            assertEquals(TaskRejectedException.Kind.NO_CAPABLE_WORKER, rejected.kind());
            assertTrue(rejected.getMessage().contains("tpu"), rejected.getMessage());
        }
    }

    private static String workerOf(WorkerPool pool, String group) {
        return pool.workers().stream().filter(w -> w.group().equals(group)).findFirst().orElseThrow().id();
    }

    @Test
    void anAffinityKeyStaysOnOneWorker() {
        try (WorkerPool pool = WorkerPool.builder().name("affinity").group(group("g").workers(3).build()).start()) {
            Set<String> workersOfKey = new java.util.HashSet<>();
            Set<String> workersOfAll = new java.util.HashSet<>();
            for (int i = 0; i < 60; i++) {
                workersOfKey.add(pool.submitTask(TaskRequest.of("work", Map.of()).withAffinityKey("project-a"))
                        .await(Duration.ofSeconds(5)).workerId());
                workersOfAll.add(pool.submitTask("work", Map.of()).await(Duration.ofSeconds(5)).workerId());
            }
            assertEquals(1, workersOfKey.size(), "one worker for the key: " + workersOfKey);
            assertTrue(workersOfAll.size() >= 2, "tasks without a key spread: " + workersOfAll);
        }
    }

    @Test
    void aFullQueueRejectsNamingItsCapacityAndLosesNothing() {
        String gate = newGate();
        try (WorkerPool pool = WorkerPool.builder().name("full").group(group("g").workers(1).build())
                .queueCapacity(2).start()) {
            TaskHandle running = pool.submitTask("gate", gatePayload(gate));
            await().atMost(Duration.ofSeconds(5)).until(() -> running.state() == TaskState.RUNNING);
            List<TaskHandle> accepted = List.of(pool.submitTask("work", Map.of()), pool.submitTask("work", Map.of()));

            TaskRejectedException rejected = assertThrows(TaskRejectedException.class,
                    () -> pool.submitTask("work", Map.of()));
            assertEquals(TaskRejectedException.Kind.QUEUE_FULL, rejected.kind());
            assertTrue(rejected.getMessage().contains("queueCapacity 2"), rejected.getMessage());

            GateHandler.gate(gate).countDown();
            running.await(Duration.ofSeconds(5));
            for (TaskHandle handle : accepted) {
                handle.await(Duration.ofSeconds(5));
            }
        }
    }

    @Test
    void aFullQueueBlocksTheSubmitterUntilThereIsRoom() throws Exception {
        String gate = newGate();
        try (WorkerPool pool = WorkerPool.builder().name("block").group(group("g").workers(1).build())
                .queueCapacity(1).blockWhenFull(Duration.ofSeconds(10)).start()) {
            TaskHandle running = pool.submitTask("gate", gatePayload(gate));
            await().atMost(Duration.ofSeconds(5)).until(() -> running.state() == TaskState.RUNNING);
            TaskHandle queued = pool.submitTask("work", Map.of());

            List<TaskHandle> late = new java.util.concurrent.CopyOnWriteArrayList<>();
            Thread submitter = new Thread(() -> late.add(pool.submitTask("work", Map.of())), "blocked-submitter");
            submitter.start();
            await().atMost(Duration.ofSeconds(5)).until(() -> submitter.getState() == Thread.State.TIMED_WAITING);
            assertTrue(late.isEmpty(), "the submitter waits while the queue is full");

            GateHandler.gate(gate).countDown();
            submitter.join(5000);
            assertEquals(1, late.size());
            running.await(Duration.ofSeconds(5));
            queued.await(Duration.ofSeconds(5));
            late.get(0).await(Duration.ofSeconds(5));
        }
    }

    @Test
    void aBlockedSubmitterGivesUpAfterItsWait() {
        String gate = newGate();
        try (WorkerPool pool = WorkerPool.builder().name("block-timeout").group(group("g").workers(1).build())
                .queueCapacity(1).blockWhenFull(Duration.ofMillis(100)).start()) {
            TaskHandle running = pool.submitTask("gate", gatePayload(gate));
            await().atMost(Duration.ofSeconds(5)).until(() -> running.state() == TaskState.RUNNING);
            TaskHandle queued = pool.submitTask("work", Map.of());
            TaskRejectedException rejected = assertThrows(TaskRejectedException.class,
                    () -> pool.submitTask("work", Map.of()));
            assertEquals(TaskRejectedException.Kind.QUEUE_FULL, rejected.kind());
            assertTrue(rejected.getMessage().contains("stayed full for 100 ms"), rejected.getMessage());
            GateHandler.gate(gate).countDown();
            queued.await(Duration.ofSeconds(5));
        }
    }

    /** Keeps a hundred urgent tasks outstanding at all times until stopped; counts the ones done. */
    private static Thread urgentStream(WorkerPool pool, AtomicBoolean stop, AtomicInteger done) {
        // enough urgent tasks queued that a feeder thread the loaded machine does not run for a while leaves no gap
        Semaphore outstanding = new Semaphore(100);
        Thread feeder = new Thread(() -> {
            while (!stop.get()) {
                try {
                    if (!outstanding.tryAcquire(50, TimeUnit.MILLISECONDS)) {
                        continue;
                    }
                } catch (InterruptedException e) {
                    return;
                }
                pool.submitTask(TaskRequest.of("work", Map.of("ms", 1)).withPriority(0)).future()
                        .whenComplete((r, e) -> {
                            done.incrementAndGet();
                            outstanding.release();
                        });
            }
        }, "urgent-stream");
        feeder.start();
        return feeder;
    }

    @Test
    void agingRunsAStarvedLowPriorityTaskWhileUrgentTasksKeepArriving() throws Exception {
        try (WorkerPool pool = WorkerPool.builder().name("aging").group(group("g").workers(1).build())
                .priorityAging(Duration.ofMillis(5)).start()) {
            AtomicBoolean stop = new AtomicBoolean();
            AtomicInteger urgentDone = new AtomicInteger();
            Thread feeder = urgentStream(pool, stop, urgentDone);
            await().atMost(Duration.ofSeconds(5)).until(() -> urgentDone.get() > 20);

            TaskHandle low = pool.submitTask(TaskRequest.of("work", Map.of()).withPriority(100));
            low.await(Duration.ofSeconds(10));
            int urgentBefore = urgentDone.get();
            assertTrue(feeder.isAlive(), "urgent tasks were still arriving");
            stop.set(true);
            feeder.join(5000);
            assertTrue(urgentBefore > 40, "the low task waited behind urgent ones first: " + urgentBefore);
        }
    }

    @Test
    void withoutAgingAStreamOfUrgentTasksStarvesALowOne() throws Exception {
        try (WorkerPool pool = WorkerPool.builder().name("strict").group(group("g").workers(1).build())
                .noPriorityAging().start()) {
            AtomicBoolean stop = new AtomicBoolean();
            AtomicInteger urgentDone = new AtomicInteger();
            Thread feeder = urgentStream(pool, stop, urgentDone);
            await().atMost(Duration.ofSeconds(5)).until(() -> urgentDone.get() > 20);
            TaskHandle low = pool.submitTask(TaskRequest.of("work", Map.of()).withPriority(100));
            int before = urgentDone.get();
            await().during(Duration.ofMillis(500)).atMost(Duration.ofSeconds(2))
                    .until(() -> low.state() == TaskState.QUEUED);
            assertTrue(urgentDone.get() > before + 50, "urgent tasks kept running meanwhile");
            stop.set(true);
            feeder.join(5000);
            low.await(Duration.ofSeconds(10)); // runs once the stream stops
        }
    }

    @Test
    void aBacklogScalesUpToTheMaximumAndIdlenessBackDownToTheMinimum() {
        String gate = newGate();
        EventLog events = new EventLog();
        try (WorkerPool pool = WorkerPool.builder().name("autoscale")
                .group(group("elastic").minWorkers(1).maxWorkers(3).idleTimeout(Duration.ofMillis(300)).build())
                .listener(events).start()) {
            assertEquals(1, pool.workers().size());
            List<TaskHandle> handles = new ArrayList<>();
            for (int i = 0; i < 5; i++) {
                handles.add(pool.submitTask("gate", gatePayload(gate)));
            }
            await().atMost(Duration.ofSeconds(5)).until(() -> pool.workers().size() == 3);
            await().atMost(Duration.ofSeconds(5)).until(() -> pool.workers().stream()
                    .filter(w -> !w.currentTasks().isEmpty()).count() == 3);
            assertTrue(events.all(PoolEvent.Scaled.class).stream().anyMatch(e -> e.to() == 3 && e.to() > e.from()));

            GateHandler.gate(gate).countDown();
            handles.forEach(h -> h.await(Duration.ofSeconds(5)));
            await().atMost(Duration.ofSeconds(10)).until(() -> pool.workers().size() == 1);
            await().atMost(Duration.ofSeconds(5)).until(() -> events.all(PoolEvent.Scaled.class).stream()
                    .anyMatch(e -> e.to() == 1 && e.from() == 2));
        }
    }

    @Test
    void scalingByHandRetiresIdleWorkersFirst() {
        String gate = newGate();
        try (WorkerPool pool = WorkerPool.builder().name("manual").group(group("g").workers(2).build()).start()) {
            pool.scaleUp("g", 2);
            await().atMost(Duration.ofSeconds(5)).until(() -> pool.workers().size() == 4
                    && pool.workers().stream().allMatch(w -> w.state() == dev.procpool.WorkerState.IDLE));
            TaskHandle busy = pool.submitTask("gate", gatePayload(gate));
            await().atMost(Duration.ofSeconds(5)).until(() -> busy.state() == TaskState.RUNNING);
            String busyWorker = pool.workers().stream().filter(w -> !w.currentTasks().isEmpty()).findFirst()
                    .orElseThrow().id();

            pool.scaleDown("g", 3);
            await().atMost(Duration.ofSeconds(5)).until(() -> pool.workers().size() == 1);
            assertEquals(busyWorker, pool.workers().get(0).id(), "the busy worker was kept; idle ones went");
            GateHandler.gate(gate).countDown();
            busy.await(Duration.ofSeconds(5));
            assertThrows(IllegalArgumentException.class, () -> pool.scaleDown("g", 2));
            IllegalArgumentException unknown = assertThrows(IllegalArgumentException.class,
                    () -> pool.scaleUp("nope", 1));
            assertTrue(unknown.getMessage().contains("[g]"), unknown.getMessage());
        }
    }
}
