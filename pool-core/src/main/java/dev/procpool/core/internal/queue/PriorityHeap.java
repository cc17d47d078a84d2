package dev.procpool.core.internal.queue;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.Predicate;

/**
 * A 4-ary min-heap ordered by rank, then sequence (FIFO among equal ranks). Entries remember their index, so
 * removal of any entry (a cancelled task) costs O(log n). Not thread-safe.
 *
 * <p>Ranks and sequences are copied into arrays beside the entries (an entry's rank is fixed while it is queued):
 * comparisons read contiguous memory instead of one task object per comparison, and four children per node halve
 * the depth. With hundreds of thousands of queued tasks this is what keeps taking the head cheap.
 *
 * <p>While entries arrive in run order (every task of one priority, the usual case), the arrays hold them sorted in
 * {@code [head, head + size)}: a FIFO queue whose add and poll touch one slot and no other entry. A sorted array is a
 * valid heap, so the first entry out of order (or a removal from the middle) turns it into one, at the cost of one
 * pass that moves the entries to the front; an emptied heap is a FIFO queue again. Sifting a heap of hundreds of
 * thousands of tasks writes the new index into about ten task objects per poll, each likely a cache miss.
 *
 * <p>{@link #peekFirst(Predicate)} with a filter that rejects the head walks the heap in order with a small
 * frontier; the dispatcher only filters by routing, which is uniform within one heap, so in practice it stops at
 * the head.
 */
public final class PriorityHeap<T extends QueueEntry> implements TaskQueue<T> {
    private static final int ARITY = 4;

    private QueueEntry[] heap = new QueueEntry[16];
    private long[] ranks = new long[16];
    private long[] sequences = new long[16];
    private int size;
    /** Whether the entries sit in run order in {@code [head, head + size)} (else a heap rooted at 0, head 0). */
    private boolean sorted = true;
    private int head;

    @Override
    public void add(T entry) {
        long rank = entry.rank();
        long sequence = entry.sequence();
        if (sorted) {
            int tail = head + size;
            if (size == 0 || before(ranks[tail - 1], sequences[tail - 1], rank, sequence)) {
                if (tail == heap.length) {
                    tail = relocate(size * 2 > heap.length ? heap.length * 2 : heap.length);
                }
                put(tail, entry, rank, sequence);
                size++;
                return;
            }
            toHeap();
        }
        if (size == heap.length) {
            relocate(size * 2);
        }
        size++;
        siftUp(size - 1, entry, rank, sequence);
    }

    /** Moves the entries to the front of arrays of {@code capacity}; returns the first free index. */
    private int relocate(int capacity) {
        if (capacity != heap.length) {
            QueueEntry[] entries = new QueueEntry[capacity];
            long[] newRanks = new long[capacity];
            long[] newSequences = new long[capacity];
            System.arraycopy(heap, head, entries, 0, size);
            System.arraycopy(ranks, head, newRanks, 0, size);
            System.arraycopy(sequences, head, newSequences, 0, size);
            heap = entries;
            ranks = newRanks;
            sequences = newSequences;
        } else if (head > 0) {
            System.arraycopy(heap, head, heap, 0, size);
            System.arraycopy(ranks, head, ranks, 0, size);
            System.arraycopy(sequences, head, sequences, 0, size);
            Arrays.fill(heap, size, head + size, null);
        }
        if (head > 0) {
            for (int i = 0; i < size; i++) {
                heap[i].queueIndex(i);
            }
            head = 0;
        }
        return size;
    }

    /** Turns the sorted run into a heap: already one, once it starts at index 0. */
    private void toHeap() {
        relocate(heap.length);
        sorted = false;
    }

    @Override
    public boolean remove(T entry) {
        int index = entry.queueIndex();
        if (index < head || index >= head + size || heap[index] != entry) {
            return false;
        }
        removeAt(index);
        return true;
    }

    /** Removes and returns the first entry, or {@code null} when empty. */
    @SuppressWarnings("unchecked")
    public T poll() {
        if (size == 0) {
            return null;
        }
        T first = (T) heap[head];
        removeAt(head);
        return first;
    }

    @Override
    @SuppressWarnings("unchecked")
    public T peekFirst(Predicate<? super T> eligible) {
        if (size == 0) {
            return null;
        }
        if (sorted) {
            for (int i = head; i < head + size; i++) {
                if (eligible.test((T) heap[i])) {
                    return (T) heap[i];
                }
            }
            return null;
        }
        if (eligible.test((T) heap[0])) {
            return (T) heap[0];
        }
        // Best-first walk: a frontier of candidate indices, always expanding the smallest.
        PriorityHeap<IndexEntry> frontier = new PriorityHeap<>();
        addChildren(frontier, 0);
        IndexEntry next;
        while ((next = frontier.poll()) != null) {
            T candidate = (T) heap[next.index];
            if (eligible.test(candidate)) {
                return candidate;
            }
            addChildren(frontier, next.index);
        }
        return null;
    }

    private void addChildren(PriorityHeap<IndexEntry> frontier, int index) {
        int first = ARITY * index + 1;
        for (int child = first; child < first + ARITY && child < size; child++) {
            frontier.add(new IndexEntry(child, ranks[child], sequences[child]));
        }
    }

    @Override
    public int size() {
        return size;
    }

    @Override
    public List<T> drain() {
        List<T> all = new ArrayList<>(size);
        T next;
        while ((next = poll()) != null) {
            all.add(next);
        }
        return all;
    }

    private void removeAt(int index) {
        QueueEntry removed = heap[index];
        if (sorted) {
            if (index == head || index == head + size - 1) {
                heap[index] = null;
                size--;
                head = size == 0 ? 0 : index == head ? head + 1 : head;
                removed.queueIndex(-1);
                return;
            }
            toHeap();
            index = removed.queueIndex();
        }
        size--;
        if (index != size) {
            QueueEntry last = heap[size];
            long rank = ranks[size];
            long sequence = sequences[size];
            heap[size] = null;
            int at = siftDown(index, last, rank, sequence);
            if (at == index) {
                siftUp(index, last, rank, sequence);
            }
        } else {
            heap[size] = null;
        }
        removed.queueIndex(-1);
        if (size == 0) {
            sorted = true; // empty: a FIFO queue again
        }
    }

    /** Places {@code entry} at {@code index} or above it; the slot at {@code index} is free. */
    private void siftUp(int index, QueueEntry entry, long rank, long sequence) {
        while (index > 0) {
            int parent = (index - 1) / ARITY;
            if (!before(rank, sequence, ranks[parent], sequences[parent])) {
                break;
            }
            move(parent, index);
            index = parent;
        }
        put(index, entry, rank, sequence);
    }

    /** Places {@code entry} at {@code index} or below it; the slot at {@code index} is free. Returns where. */
    private int siftDown(int index, QueueEntry entry, long rank, long sequence) {
        while (true) {
            int first = ARITY * index + 1;
            if (first >= size) {
                break;
            }
            int best = first;
            int end = Math.min(first + ARITY, size);
            for (int child = first + 1; child < end; child++) {
                if (before(ranks[child], sequences[child], ranks[best], sequences[best])) {
                    best = child;
                }
            }
            if (!before(ranks[best], sequences[best], rank, sequence)) {
                break;
            }
            move(best, index);
            index = best;
        }
        put(index, entry, rank, sequence);
        return index;
    }

    private void move(int from, int to) {
        QueueEntry entry = heap[from];
        put(to, entry, ranks[from], sequences[from]);
    }

    private void put(int index, QueueEntry entry, long rank, long sequence) {
        heap[index] = entry;
        ranks[index] = rank;
        sequences[index] = sequence;
        entry.queueIndex(index);
    }

    private static boolean before(long rankA, long sequenceA, long rankB, long sequenceB) {
        return rankA < rankB || (rankA == rankB && sequenceA < sequenceB);
    }

    /** Run order: rank, then sequence. */
    static boolean before(QueueEntry a, QueueEntry b) {
        return a.rank() < b.rank() || (a.rank() == b.rank() && a.sequence() < b.sequence());
    }

    private static final class IndexEntry implements QueueEntry {
        final int index;
        final long rank;
        final long sequence;
        int slot = -1;

        IndexEntry(int index, long rank, long sequence) {
            this.index = index;
            this.rank = rank;
            this.sequence = sequence;
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
            return slot;
        }

        @Override
        public void queueIndex(int index) {
            slot = index;
        }
    }
}
