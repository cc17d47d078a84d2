package dev.procpool.examples.bench.jmh;

import dev.procpool.core.internal.queue.PriorityHeap;
import dev.procpool.core.internal.queue.QueueEntry;
import dev.procpool.core.internal.queue.RoutedQueue;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

/**
 * The task heap at the sizes the peer workloads reach (W2 queues up to 200,000 tasks), in steady state: every
 * operation takes the first task and queues another, so the size stays put. Priorities are spread over the 11
 * levels a mixed workload uses; FIFO within a level comes from the sequence numbers.
 *
 * <ul>
 *   <li>{@code heapPollAdd}: {@link PriorityHeap} poll the head, add one.</li>
 *   <li>{@code heapRemoveAdd}: remove a task from the middle (a cancel), add it back.</li>
 *   <li>{@code routedPeekRemoveAdd}: {@link RoutedQueue} over {@code keys} routing keys (task types), as the
 *       dispatcher uses it: find the first eligible task, remove it, add one.</li>
 * </ul>
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class TaskHeapBenchmark {
    /** A queued task as the queue sees it. */
    static final class Task implements QueueEntry {
        final String routingKey;
        long rank;
        long sequence;
        int index = -1;

        Task(String routingKey) {
            this.routingKey = routingKey;
        }

        @Override
        public Object routingKey() {
            return routingKey;
        }

        @Override
        public long rank() {
            return rank;
        }

        @Override
        public long sequence() {
            return sequence;
        }

        @Override
        public int queueIndex() {
            return index;
        }

        @Override
        public void queueIndex(int index) {
            this.index = index;
        }
    }

    @Param({"1000", "200000"})
    public int size;

    @Param({"1", "8"})
    public int keys;

    private final SplittableRandom random = new SplittableRandom(42);
    private PriorityHeap<Task> heap;
    private RoutedQueue<Task> routed;
    private Task[] queued;
    private long sequence;

    @Setup
    public void setUp() {
        heap = new PriorityHeap<>();
        routed = new RoutedQueue<>();
        queued = new Task[size];
        for (int i = 0; i < size; i++) {
            Task task = renumber(new Task("type-" + (i % keys)));
            queued[i] = task;
            heap.add(task);
        }
        for (int i = 0; i < size; i++) {
            routed.add(renumber(new Task("type-" + (i % keys))));
        }
    }

    private Task renumber(Task task) {
        task.rank = random.nextInt(11) * 10L; // priorities 0, 10, …, 100
        task.sequence = sequence++;
        return task;
    }

    @Benchmark
    public Task heapPollAdd() {
        Task first = heap.poll();
        heap.add(renumber(first));
        return first;
    }

    @Benchmark
    public boolean heapRemoveAdd() {
        Task task = queued[random.nextInt(size)];
        boolean removed = heap.remove(task);
        heap.add(renumber(task));
        return removed;
    }

    @Benchmark
    public Task routedPeekRemoveAdd() {
        Task first = routed.peekFirst(task -> true);
        routed.remove(first);
        routed.add(renumber(first));
        return first;
    }
}
