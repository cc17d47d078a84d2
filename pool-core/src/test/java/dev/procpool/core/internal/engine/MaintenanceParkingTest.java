package dev.procpool.core.internal.engine;

import dev.procpool.FailureReason;
import dev.procpool.TaskContext;
import dev.procpool.TaskFailedException;
import dev.procpool.TaskHandler;
import dev.procpool.TaskRequest;
import dev.procpool.WorkerPool;
import dev.procpool.WorkerSpec;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.Set;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The maintenance thread sleeps until something is due, instead of waking on a short tick: an idle pool costs a few
 * wake-ups a second (its heartbeat interval, for sampling memory), and a deadline sooner than that wakes it on time.
 */
class MaintenanceParkingTest {

    /** "echo" answers at once. */
    public static final class Echo implements TaskHandler {
        @Override
        public Set<String> taskTypes() {
            return Set.of("echo");
        }

        @Override
        public Object handle(TaskContext context) {
            return context.payloadJson();
        }
    }

    @Test
    void anIdlePoolsMaintenanceWakesAboutOncePerHeartbeatIntervalNotEvery50Ms() {
        try (DefaultWorkerPool pool = (DefaultWorkerPool) WorkerPool.builder().name("parked").workers(2)
                .worker(WorkerSpec.inProcess(Echo.class)).heartbeatInterval(Duration.ofSeconds(1))
                .heartbeatTimeout(Duration.ofSeconds(10)).start()) {
            pool.submitTask("echo", "x").await(Duration.ofSeconds(5));
            long before = pool.maintenanceRuns();
            // one run per heartbeat interval for the memory sample, plus at most a few for start-up deadlines
            await("maintenance to stay parked while nothing happens").during(Duration.ofSeconds(3))
                    .atMost(Duration.ofSeconds(4)).until(() -> pool.maintenanceRuns() - before <= 6);
        }
    }

    @Test
    void aDeadlineSoonerThanPlannedWakesMaintenanceOnTime() {
        try (WorkerPool pool = WorkerPool.builder().name("woken").workers(1)
                .worker(WorkerSpec.inProcess(Sleeper.class)).heartbeatInterval(Duration.ofSeconds(5))
                .heartbeatTimeout(Duration.ofSeconds(30)).cancelGracePeriod(Duration.ofMillis(100)).start()) {
            long start = System.nanoTime();
            var handle = pool.submitTask(TaskRequest.of("sleep", 5_000).withTimeout(Duration.ofMillis(200)));
            await().atMost(Duration.ofSeconds(3)).until(() -> handle.future().isDone());
            long took = Duration.ofNanos(System.nanoTime() - start).toMillis();
            assertTrue(took < 2_000, "the 200 ms timeout was seen after " + took + " ms, not at the next 5 s sample");
            TaskFailedException failure = assertThrows(TaskFailedException.class, handle::join);
            assertEquals(FailureReason.TIMEOUT, failure.reason());
        }
    }

    /** "sleep" sleeps the payload's milliseconds, ending early when cancelled. */
    public static final class Sleeper implements TaskHandler {
        @Override
        public Set<String> taskTypes() {
            return Set.of("sleep");
        }

        @Override
        public Object handle(TaskContext context) throws InterruptedException {
            long until = System.nanoTime() + Duration.ofMillis(context.payload(Long.class)).toNanos();
            while (System.nanoTime() < until && !context.isCancelled()) {
                Thread.sleep(5);
            }
            return "slept";
        }
    }
}
