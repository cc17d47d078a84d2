package dev.procpool.core.internal.queue;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;

/**
 * One priority heap per routing key (task type and required capabilities). Which workers can run a task depends
 * only on its routing key, so the dispatcher's eligibility filter is decided per heap by looking at its head: a
 * task waiting for a busy kind of worker never hides the tasks behind it that other workers could run (no
 * head-of-line blocking), and within each heap priority order holds. Not thread-safe.
 *
 * <p>{@link #peekFirst(Predicate)} requires a filter that depends only on {@link QueueEntry#routingKey()}.
 */
public final class RoutedQueue<T extends QueueEntry> implements TaskQueue<T> {
    private final Map<Object, PriorityHeap<T>> heaps = new HashMap<>();
    private int size;

    @Override
    public void add(T entry) {
        heaps.computeIfAbsent(entry.routingKey(), key -> new PriorityHeap<>()).add(entry);
        size++;
    }

    @Override
    public boolean remove(T entry) {
        PriorityHeap<T> heap = heaps.get(entry.routingKey());
        if (heap == null || !heap.remove(entry)) {
            return false;
        }
        size--;
        if (heap.isEmpty()) {
            heaps.remove(entry.routingKey()); // keys come and go; do not keep empty heaps
        }
        return true;
    }

    @Override
    public T peekFirst(Predicate<? super T> eligible) {
        T best = null;
        for (PriorityHeap<T> heap : heaps.values()) {
            T head = heap.peekFirst(e -> true);
            if (head != null && (best == null || PriorityHeap.before(head, best)) && eligible.test(head)) {
                best = head;
            }
        }
        return best;
    }

    /** Removes and returns every entry whose routing key passes the filter, each key's entries in run order. */
    public List<T> removeWhere(Predicate<Object> routingKeys) {
        List<T> removed = new ArrayList<>();
        for (Iterator<Map.Entry<Object, PriorityHeap<T>>> it = heaps.entrySet().iterator(); it.hasNext(); ) {
            Map.Entry<Object, PriorityHeap<T>> entry = it.next();
            if (routingKeys.test(entry.getKey())) {
                List<T> drained = entry.getValue().drain();
                size -= drained.size();
                removed.addAll(drained);
                it.remove();
            }
        }
        return removed;
    }

    /** The number of entries whose routing key passes the filter. */
    public int count(Predicate<Object> routingKeys) {
        int count = 0;
        for (Map.Entry<Object, PriorityHeap<T>> entry : heaps.entrySet()) {
            if (routingKeys.test(entry.getKey())) {
                count += entry.getValue().size();
            }
        }
        return count;
    }

    @Override
    public int size() {
        return size;
    }

    @Override
    public List<T> drain() {
        List<T> all = new ArrayList<>(size);
        T next;
        while ((next = peekFirst(e -> true)) != null) {
            remove(next);
            all.add(next);
        }
        return all;
    }

    /** Removes empty heaps; for tests. */
    int heapCount() {
        for (Iterator<PriorityHeap<T>> it = heaps.values().iterator(); it.hasNext(); ) {
            if (it.next().isEmpty()) {
                it.remove();
            }
        }
        return heaps.size();
    }
}
