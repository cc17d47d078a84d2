package dev.procpool.core.internal.queue;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Random;
import java.util.function.Predicate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PriorityHeapTest {

    private static final Comparator<Entry> RUN_ORDER =
            Comparator.comparingLong((Entry e) -> e.rank).thenComparingLong(e -> e.sequence);

    private long nextSequence;

    private Entry entry(String name, long rank) {
        return new Entry(name, rank, nextSequence++);
    }

    private static List<String> names(List<Entry> entries) {
        return entries.stream().map(e -> e.name).toList();
    }

    @Test
    void emptyHeap() {
        PriorityHeap<Entry> heap = new PriorityHeap<>();
        assertEquals(0, heap.size());
        assertTrue(heap.isEmpty());
        assertNull(heap.poll());
        assertNull(heap.peekFirst(e -> true));
        assertTrue(heap.drain().isEmpty());
    }

    @Test
    void ordersByRankThenFifoWithinRank() {
        PriorityHeap<Entry> heap = new PriorityHeap<>();
        for (Entry e : List.of(entry("low-1", 50), entry("high-1", 0), entry("mid-1", 10), entry("high-2", 0),
                entry("low-2", 50), entry("mid-2", 10), entry("high-3", 0))) {
            heap.add(e);
        }
        assertEquals(7, heap.size());
        assertEquals(List.of("high-1", "high-2", "high-3", "mid-1", "mid-2", "low-1", "low-2"), names(heap.drain()));
        assertTrue(heap.isEmpty());
    }

    @Test
    void equalRanksComeOutInSubmissionOrderEvenWhenMany() {
        PriorityHeap<Entry> heap = new PriorityHeap<>();
        List<Entry> added = new ArrayList<>();
        for (int i = 0; i < 1000; i++) {
            Entry e = entry("e" + i, 7);
            added.add(e);
            heap.add(e);
        }
        assertEquals(added, heap.drain());
    }

    @Test
    void pollReturnsTheFirstAndPeekDoesNotRemove() {
        PriorityHeap<Entry> heap = new PriorityHeap<>();
        Entry b = entry("b", 2);
        Entry a = entry("a", 1);
        heap.add(b);
        heap.add(a);
        assertSame(a, heap.peekFirst(e -> true));
        assertEquals(2, heap.size());
        assertSame(a, heap.poll());
        assertSame(b, heap.poll());
        assertNull(heap.poll());
    }

    @Test
    void queueIndexTracksThePositionInTheHeap() {
        PriorityHeap<Entry> heap = new PriorityHeap<>();
        List<Entry> entries = new ArrayList<>();
        Random random = new Random(7);
        for (int i = 0; i < 200; i++) {
            Entry e = entry("e" + i, random.nextInt(20));
            entries.add(e);
            heap.add(e);
        }
        for (Entry e : entries) {
            assertTrue(e.index >= 0 && e.index < heap.size(), e + " has index " + e.index);
        }
        assertEquals(entries.size(), entries.stream().mapToInt(e -> e.index).distinct().count(),
                "each entry has its own slot");
    }

    @Test
    void removedAndPolledEntriesGetIndexMinusOne() {
        PriorityHeap<Entry> heap = new PriorityHeap<>();
        Entry a = entry("a", 1);
        Entry b = entry("b", 2);
        Entry c = entry("c", 3);
        heap.add(a);
        heap.add(b);
        heap.add(c);

        assertTrue(heap.remove(b));
        assertEquals(-1, b.index);
        assertSame(a, heap.poll());
        assertEquals(-1, a.index);
        List<Entry> drained = heap.drain();
        assertEquals(List.of(c), drained);
        assertEquals(-1, c.index);
    }

    @Test
    void removeOfANonMemberReturnsFalseAndChangesNothing() {
        PriorityHeap<Entry> heap = new PriorityHeap<>();
        Entry a = entry("a", 1);
        Entry b = entry("b", 2);
        heap.add(a);
        heap.add(b);

        Entry never = entry("never", 0);
        assertFalse(heap.remove(never));

        // An entry whose slot number is valid here but which belongs to another heap.
        PriorityHeap<Entry> other = new PriorityHeap<>();
        other.add(entry("x", 0));
        Entry foreign = entry("foreign", 0);
        other.add(foreign);
        assertEquals(1, foreign.index);
        assertFalse(heap.remove(foreign));
        assertEquals(1, foreign.index, "a failed remove must not touch the entry");

        // An entry with a slot beyond the size.
        Entry stale = entry("stale", 0);
        stale.queueIndex(40);
        assertFalse(heap.remove(stale));

        assertEquals(2, heap.size());
        assertEquals(List.of(a, b), heap.drain());
        assertEquals(List.of("x", "foreign"), names(other.drain()));
    }

    @Test
    void removingTwiceReturnsFalseTheSecondTime() {
        PriorityHeap<Entry> heap = new PriorityHeap<>();
        Entry a = entry("a", 1);
        heap.add(a);
        heap.add(entry("b", 1));
        assertTrue(heap.remove(a));
        assertFalse(heap.remove(a));
        assertEquals(1, heap.size());
    }

    @Test
    void removingTheLastSlotAndTheHead() {
        PriorityHeap<Entry> heap = new PriorityHeap<>();
        Entry a = entry("a", 1);
        Entry b = entry("b", 2);
        Entry c = entry("c", 3);
        heap.add(a);
        heap.add(b);
        heap.add(c);
        Entry last = c.index == 2 ? c : b.index == 2 ? b : a;
        assertTrue(heap.remove(last));
        assertTrue(heap.remove(a));
        assertEquals(1, heap.size());
        Entry remaining = last == b ? c : b;
        assertSame(remaining, heap.peekFirst(e -> true));
    }

    @Test
    void removalFromTheMiddleKeepsHeapOrderAgainstAReferenceSort() {
        Random random = new Random(20240611L);
        PriorityHeap<Entry> heap = new PriorityHeap<>();
        List<Entry> reference = new ArrayList<>();

        for (int op = 0; op < 20_000; op++) {
            int choice = random.nextInt(10);
            if (choice < 5 || reference.isEmpty()) {
                // Few distinct ranks, so FIFO tie-breaking is exercised constantly.
                Entry e = entry("e" + op, random.nextInt(6));
                heap.add(e);
                reference.add(e);
            } else if (choice < 8) {
                Entry victim = reference.remove(random.nextInt(reference.size()));
                assertTrue(heap.remove(victim), "op " + op + ": remove " + victim);
                assertEquals(-1, victim.index);
                assertFalse(heap.remove(victim), "op " + op + ": second remove of " + victim);
            } else {
                reference.sort(RUN_ORDER);
                Entry expected = reference.remove(0);
                assertSame(expected, heap.poll(), "op " + op);
            }
            assertEquals(reference.size(), heap.size(), "op " + op);
            if (!reference.isEmpty()) {
                assertSame(reference.stream().min(RUN_ORDER).orElseThrow(), heap.peekFirst(e -> true), "op " + op);
            }
        }

        reference.sort(RUN_ORDER);
        assertEquals(reference, heap.drain());
    }

    /**
     * Mostly one priority, as most pools run: the heap then keeps its entries as a FIFO run (add at the tail, poll at
     * the head, the run moved to the front when it reaches the end of its arrays), turns into a heap at the first
     * entry out of order or removal from the middle, and back into a run once empty. Order, slots and membership must
     * hold across every switch.
     */
    @Test
    void fifoRunOfOnePriorityKeepsOrderAndSlotsThroughEverySwitch() {
        Random random = new Random(20261203L);
        PriorityHeap<Entry> heap = new PriorityHeap<>();
        List<Entry> reference = new ArrayList<>();
        for (int op = 0; op < 60_000; op++) {
            int choice = random.nextInt(1000);
            if (choice < 520 || reference.isEmpty()) {
                // now and then a higher priority, which breaks the run
                Entry e = entry("e" + op, choice < 3 ? -1 : 5);
                heap.add(e);
                reference.add(e);
            } else if (choice < 525) {
                Entry victim = reference.remove(random.nextInt(reference.size()));
                assertTrue(heap.remove(victim), "op " + op + ": remove " + victim);
                assertEquals(-1, victim.index);
                assertFalse(heap.remove(victim), "op " + op + ": second remove of " + victim);
            } else if (choice < 530) {
                reference.sort(RUN_ORDER);
                Entry last = reference.remove(reference.size() - 1);
                assertTrue(heap.remove(last), "op " + op + ": remove the last " + last);
            } else if (choice < 531) {
                reference.sort(RUN_ORDER);
                assertEquals(reference, heap.drain(), "op " + op);
                reference.clear();
            } else {
                reference.sort(RUN_ORDER);
                Entry expected = reference.remove(0);
                assertSame(expected, heap.poll(), "op " + op);
                assertEquals(-1, expected.index);
            }
            assertEquals(reference.size(), heap.size(), "op " + op);
            if (op % 97 == 0) {
                for (Entry e : reference) {
                    assertTrue(heap.remove(e), "op " + op + ": " + e + " is a member at its slot " + e.index);
                }
                for (Entry e : reference) {
                    heap.add(e); // back in, in a shuffled order when the heap was one
                }
            }
            if (!reference.isEmpty()) {
                assertSame(reference.stream().min(RUN_ORDER).orElseThrow(), heap.peekFirst(e -> true), "op " + op);
            }
        }
        reference.sort(RUN_ORDER);
        assertEquals(reference, heap.drain());
    }

    @Test
    void heapGrowsBeyondItsInitialCapacity() {
        PriorityHeap<Entry> heap = new PriorityHeap<>();
        List<Entry> added = new ArrayList<>();
        for (int i = 0; i < 5000; i++) {
            Entry e = entry("e" + i, 5000 - i);
            added.add(e);
            heap.add(e);
        }
        added.sort(RUN_ORDER);
        assertEquals(5000, heap.size());
        assertEquals(added, heap.drain());
    }

    @Test
    void peekFirstReturnsTheFirstEligibleInRunOrder() {
        PriorityHeap<Entry> heap = new PriorityHeap<>();
        Entry gpu1 = entry("gpu-1", 0);
        Entry cpu1 = entry("cpu-1", 0);
        Entry gpu2 = entry("gpu-2", 1);
        Entry cpu2 = entry("cpu-2", 1);
        Entry cpu0 = entry("cpu-0", 5);
        for (Entry e : List.of(cpu0, gpu2, cpu2, gpu1, cpu1)) {
            heap.add(e);
        }
        assertSame(gpu1, heap.peekFirst(e -> true));
        assertSame(cpu1, heap.peekFirst(e -> e.name.startsWith("cpu")));
        assertSame(gpu2, heap.peekFirst(e -> e.name.startsWith("gpu") && e.rank > 0));
        assertSame(cpu0, heap.peekFirst(e -> e.rank == 5));
        assertNull(heap.peekFirst(e -> e.name.startsWith("tpu")));
        assertEquals(5, heap.size(), "peeking removes nothing");
        assertEquals(List.of(gpu1, cpu1, gpu2, cpu2, cpu0), heap.drain());
    }

    @Test
    void peekFirstWithAPredicateMatchesAReferenceScanOverRandomHeaps() {
        Random random = new Random(99);
        for (int round = 0; round < 200; round++) {
            PriorityHeap<Entry> heap = new PriorityHeap<>();
            List<Entry> reference = new ArrayList<>();
            int n = 1 + random.nextInt(150);
            for (int i = 0; i < n; i++) {
                Entry e = entry("r" + round + "-" + i, random.nextInt(8));
                heap.add(e);
                reference.add(e);
            }
            // Remove some from the middle so the heap layout is not just insertion-shaped.
            for (int i = 0; i < n / 4; i++) {
                assertTrue(heap.remove(reference.remove(random.nextInt(reference.size()))));
            }
            reference.sort(RUN_ORDER);
            int modulus = 2 + random.nextInt(7);
            int wanted = random.nextInt(modulus);
            Predicate<Entry> eligible = e -> e.sequence % modulus == wanted;
            Entry expected = reference.stream().filter(eligible).findFirst().orElse(null);
            assertSame(expected, heap.peekFirst(eligible), "round " + round);
            assertEquals(reference.size(), heap.size());
        }
    }

    @Test
    void peekFirstTestsEachEntryAtMostOnceAndInRunOrder() {
        PriorityHeap<Entry> heap = new PriorityHeap<>();
        List<Entry> added = new ArrayList<>();
        Random random = new Random(3);
        for (int i = 0; i < 100; i++) {
            Entry e = entry("e" + i, random.nextInt(10));
            added.add(e);
            heap.add(e);
        }
        added.sort(RUN_ORDER);
        List<Entry> tested = new ArrayList<>();
        assertNull(heap.peekFirst(e -> {
            tested.add(e);
            return false;
        }));
        assertEquals(added, tested, "a rejecting filter sees every entry once, in run order");
    }

    @Test
    void drainReturnsRunOrderAndEmptiesTheHeap() {
        PriorityHeap<Entry> heap = new PriorityHeap<>();
        Entry c = entry("c", 3);
        Entry a = entry("a", 1);
        Entry b1 = entry("b1", 2);
        Entry b2 = entry("b2", 2);
        heap.add(c);
        heap.add(b1);
        heap.add(a);
        heap.add(b2);
        assertEquals(List.of(a, b1, b2, c), heap.drain());
        assertEquals(0, heap.size());
        assertTrue(heap.drain().isEmpty());
        for (Entry e : List.of(a, b1, b2, c)) {
            assertEquals(-1, e.index);
            assertFalse(heap.remove(e));
        }
    }

    @Test
    void anEntryCanBeAddedAgainAfterRemoval() {
        PriorityHeap<Entry> heap = new PriorityHeap<>();
        Entry a = entry("a", 1);
        Entry b = entry("b", 2);
        heap.add(a);
        heap.add(b);
        assertTrue(heap.remove(a));
        heap.add(a);
        assertEquals(List.of(a, b), heap.drain());
    }

    @Test
    void negativeAndExtremeRanksOrderCorrectly() {
        PriorityHeap<Entry> heap = new PriorityHeap<>();
        Entry max = entry("max", Long.MAX_VALUE);
        Entry min = entry("min", Long.MIN_VALUE);
        Entry zero = entry("zero", 0);
        Entry minusOne = entry("minus-one", -1);
        heap.add(max);
        heap.add(zero);
        heap.add(min);
        heap.add(minusOne);
        assertEquals(List.of(min, minusOne, zero, max), heap.drain());
    }
}
