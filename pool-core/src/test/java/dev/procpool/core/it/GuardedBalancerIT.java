package dev.procpool.core.it;

import dev.procpool.LoadBalancer;
import dev.procpool.PoolState;
import dev.procpool.TaskHandle;
import dev.procpool.TaskRequest;
import dev.procpool.WorkerPool;
import dev.procpool.WorkerSnapshot;
import dev.procpool.core.testing.TestHandler;
import dev.procpool.core.testing.TestPools;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Load balancers are the application's code. Whatever one does (throw, choose a worker that is not a candidate,
 * block), every task ends exactly once and the pool still closes.
 */
class GuardedBalancerIT {
    private static final int TASKS = 200;

    /** A worker no pool has: what a confused balancer might return. */
    private static final LoadBalancer.WorkerView STRANGER = new LoadBalancer.WorkerView() {
        @Override
        public String id() {
            return "w-stranger";
        }

        @Override
        public String group() {
            return "default";
        }

        @Override
        public long pid() {
            return 1;
        }

        @Override
        public int tasksInFlight() {
            return 0;
        }

        @Override
        public int maxConcurrency() {
            return 1;
        }

        @Override
        public long tasksServed() {
            return 0;
        }

        @Override
        public long rssBytes() {
            return 0;
        }

        @Override
        public Set<String> capabilities() {
            return Set.of();
        }
    };

    @Test
    void aBalancerThatThrowsLosesNoTask() {
        AtomicInteger calls = new AtomicInteger();
        runThrough((task, candidates) -> {
            if (calls.incrementAndGet() % 2 == 1) { // the first choice and every other
                throw new IllegalStateException("balancer bug");
            }
            return candidates.get(candidates.size() - 1);
        }, true);
    }

    @Test
    void aBalancerThatChoosesAStrangerLosesNoTask() {
        runThrough((task, candidates) -> STRANGER, true);
    }

    @Test
    void aBalancerThatBlocksForASecondDelaysButLosesNoTask() {
        AtomicInteger calls = new AtomicInteger();
        runThrough((task, candidates) -> {
            if (calls.incrementAndGet() == 1) {
                try {
                    Thread.sleep(1000);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            return candidates.get(0);
        }, false);
    }

    private static void runThrough(LoadBalancer balancer, boolean misbehaves) {
        List<Long> pids;
        WorkerPool pool = WorkerPool.builder().name("balancer").workers(3)
                .worker(TestPools.javaWorker(TestHandler.class)).loadBalancer(balancer).start();
        try {
            pids = pool.workers().stream().map(WorkerSnapshot::pid).toList();
            List<TaskHandle> handles = new ArrayList<>();
            AtomicInteger completions = new AtomicInteger();
            for (int i = 0; i < TASKS; i++) {
                TaskHandle handle = pool.submitTask(TaskRequest.of("square", new TestHandler.Square(i)));
                handle.future().whenComplete((result, error) -> completions.incrementAndGet());
                handles.add(handle);
            }
            for (int i = 0; i < TASKS; i++) {
                assertEquals((long) i * i, handles.get(i).await(Duration.ofSeconds(30))
                        .as(TestHandler.Squared.class).square());
            }
            assertEquals(TASKS, completions.get(), "each future completed once");
            assertEquals(TASKS, pool.snapshot().tasks().completed());
            assertEquals(0, pool.snapshot().tasks().failed());
            if (misbehaves) {
                assertTrue(pool.snapshot().performance().balancerFailures() > 0, "the misbehaviour was counted");
            } else {
                assertEquals(0, pool.snapshot().performance().balancerFailures());
            }
        } finally {
            pool.close();
        }
        assertEquals(PoolState.TERMINATED, pool.state());
        TestPools.assertAllDead(pids, Duration.ofSeconds(10));
    }
}
