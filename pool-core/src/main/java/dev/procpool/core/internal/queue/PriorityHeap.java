package dev.procpool.core.internal.queue;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.Predicate;

/**
 * A binary min-heap ordered by rank, then sequence (FIFO among equal ranks). Entries remember their index, so
 * removal of any entry (a cancelled task) costs O(log n). Not thread-safe.
 *
 * <p>{@link #peekFirst(Predicate)} with a filter that rejects the head walks the heap in order with a small
 * frontier; the dispatcher only filters by routing, which is uniform within one heap, so in practice it stops at
 * the head.
 */
public final class PriorityHeap<T extends QueueEntry> implements TaskQueue<T> {
    private QueueEntry[] heap = new QueueEntry[64];
    private int size;

    @Override
    public void add(T entry) {
        if (size == heap.length) {
            heap = Arrays.copyOf(heap, size * 2);
        }
        heap[size] = entry;
        entry.queueIndex(size);
        size++;
        siftUp(size - 1);
    }

    @Override
    public boolean remove(T entry) {
        int index = entry.queueIndex();
        if (index < 0 || index >= size || heap[index] != entry) {
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
        T first = (T) heap[0];
        removeAt(0);
        return first;
    }

    @Override
    @SuppressWarnings("unchecked")
    public T peekFirst(Predicate<? super T> eligible) {
        if (size == 0) {
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
        for (int child = 2 * index + 1; child <= 2 * index + 2 && child < size; child++) {
            frontier.add(new IndexEntry(child, heap[child].rank(), heap[child].sequence()));
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
        size--;
        if (index != size) {
            QueueEntry last = heap[size];
            heap[index] = last;
            last.queueIndex(index);
            heap[size] = null;
            siftDown(index);
            if (heap[index] == last) {
                siftUp(index);
            }
        } else {
            heap[size] = null;
        }
        removed.queueIndex(-1);
    }

    private void siftUp(int index) {
        QueueEntry entry = heap[index];
        while (index > 0) {
            int parent = (index - 1) >>> 1;
            if (!before(entry, heap[parent])) {
                break;
            }
            heap[index] = heap[parent];
            heap[index].queueIndex(index);
            index = parent;
        }
        heap[index] = entry;
        entry.queueIndex(index);
    }

    private void siftDown(int index) {
        QueueEntry entry = heap[index];
        int half = size >>> 1;
        while (index < half) {
            int child = 2 * index + 1;
            int right = child + 1;
            if (right < size && before(heap[right], heap[child])) {
                child = right;
            }
            if (!before(heap[child], entry)) {
                break;
            }
            heap[index] = heap[child];
            heap[index].queueIndex(index);
            index = child;
        }
        heap[index] = entry;
        entry.queueIndex(index);
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
