package dev.procpool.core.internal.queue;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

class RoutedQueueTest {

    @Test
    void aTaskForBusyWorkersDoesNotHideTasksOthersCanRun() {
        RoutedQueue<Entry> queue = new RoutedQueue<>();
        Entry gpu1 = new Entry("gpu", 0, 1);
        Entry gpu2 = new Entry("gpu", 0, 2);
        Entry cpu = new Entry("cpu", 50, 3);
        queue.add(gpu1);
        queue.add(gpu2);
        queue.add(cpu);

        assertSame(gpu1, queue.peekFirst(e -> true), "priority order overall");
        assertSame(cpu, queue.peekFirst(e -> e.routingKey().equals("cpu")),
                "with the gpu workers busy, the cpu task is next although it is behind and of lower priority");
        assertNull(queue.peekFirst(e -> e.routingKey().equals("ml")));
        assertEquals(2, queue.count(key -> key.equals("gpu")));
    }

    @Test
    void priorityThenFifoWithinAndAcrossRoutes() {
        RoutedQueue<Entry> queue = new RoutedQueue<>();
        List<Entry> entries = List.of(new Entry("a", 10, 1), new Entry("b", 10, 2), new Entry("a", 5, 3),
                new Entry("b", 5, 4), new Entry("a", 10, 5));
        entries.forEach(queue::add);
        assertEquals(List.of(entries.get(2), entries.get(3), entries.get(0), entries.get(1), entries.get(4)),
                queue.drain());
        assertTrue(queue.isEmpty());
        assertEquals(0, queue.heapCount(), "empty heaps are dropped");
    }

    @Test
    void removeKeepsCountsRight() {
        RoutedQueue<Entry> queue = new RoutedQueue<>();
        Entry a = new Entry("a", 1, 1);
        Entry b = new Entry("b", 1, 2);
        queue.add(a);
        queue.add(b);
        assertTrue(queue.remove(a));
        assertEquals(1, queue.size());
        assertEquals(false, queue.remove(a));
        assertSame(b, queue.peekFirst(e -> true));
    }
}
