package dev.procpool.core.internal.queue;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.function.Predicate;

/**
 * The tasks a pool holds: every task accepted and not yet released (by id), the routed priority queue of those
 * waiting for a worker, and those waiting to be retried (by due time). It decides run order (priority lifted by
 * aging, FIFO within a rank) and capacity; it knows nothing of workers. Not thread-safe: the engine calls it under
 * its lock.
 *
 * <p>Aging is a time-invariant rank: {@code priority × step + (submitted − epoch)}. A task that waited one step
 * longer ranks like one a priority level more urgent, and no rank ever changes while queued, so the heap is never
 * re-sorted.
 */
public final class TaskBook<T extends BookEntry> {
    /** Routing keys shared at most: task types are few in practice, but nothing stops a caller from using many. */
    private static final int MAX_SHARED_ROUTING_KEYS = 1024;

    private final int capacity;
    private final long agingStepNanos;
    private long epoch;
    private final Map<String, T> live = new HashMap<>();
    private final RoutedQueue<T> queue = new RoutedQueue<>();
    private final PriorityQueue<T> retryWaiting = new PriorityQueue<>(
            Comparator.comparingLong((T t) -> t.retryAt()).thenComparingLong(QueueEntry::sequence));
    private final Map<Object, Object> routingKeys = new HashMap<>();

    /**
     * @param capacity       tasks waiting at most (queued or waiting to retry)
     * @param agingStepNanos the wait that counts as one priority level; 0 for no aging
     */
    public TaskBook(int capacity, long agingStepNanos) {
        this.capacity = capacity;
        this.agingStepNanos = agingStepNanos;
    }

    /** The origin of aging ranks: the pool's start. */
    public void epoch(long epoch) {
        this.epoch = epoch;
    }

    /** Whether no more tasks may wait. */
    public boolean isFull() {
        return queue.size() + retryWaiting.size() >= capacity;
    }

    public int capacity() {
        return capacity;
    }

    /** Whether a task with this id is held (not yet released). */
    public boolean holds(String id) {
        return live.containsKey(id);
    }

    public T get(String id) {
        return live.get(id);
    }

    /** One shared instance per equal routing key: queued tasks hold a reference instead of a copy each. */
    @SuppressWarnings("unchecked")
    public <K> K intern(K key) {
        Object shared = routingKeys.get(key);
        if (shared != null) {
            return (K) shared;
        }
        if (routingKeys.size() < MAX_SHARED_ROUTING_KEYS) {
            routingKeys.put(key, key);
        }
        return key;
    }

    /** Takes in a new task and queues it. */
    public void accept(T task) {
        live.put(task.id(), task);
        enqueue(task, task.submittedAt());
    }

    /** Takes in a new task that waits until {@code until} (its not-before time) before it is queued. */
    public void acceptScheduled(T task, long until) {
        live.put(task.id(), task);
        task.scheduled(until);
        retryWaiting.add(task);
    }

    /**
     * Takes in a task whose run order was decided elsewhere (a durable store ranks the tasks of every host) and queues
     * it.
     */
    public void acceptRanked(T task, long rank, long now) {
        live.put(task.id(), task);
        task.queued(now, rank);
        queue.add(task);
    }

    /** Every task held now (a copy). */
    public List<T> held() {
        return new ArrayList<>(live.values());
    }

    /** Queues a held task (new, or due for a retry). */
    public void enqueue(T task, long now) {
        long rank = agingStepNanos > 0 ? task.priority() * agingStepNanos + (task.submittedAt() - epoch)
                : task.priority();
        task.queued(now, rank);
        queue.add(task);
    }

    /** The first queued task in run order that passes {@code eligible} (a filter on its routing key only). */
    public T peekFirst(Predicate<? super T> eligible) {
        return queue.peekFirst(eligible);
    }

    /** Takes a task out of the queue (to run it, or because it ended); returns whether it was queued. */
    public boolean unqueue(T task) {
        return queue.remove(task);
    }

    /** Makes a held task wait until {@code retryAt}. */
    public void retryLater(T task, long retryAt) {
        task.waitingToRetry(retryAt);
        retryWaiting.add(task);
    }

    /** Takes a task out of the retry wait; returns whether it was waiting. */
    public boolean cancelRetry(T task) {
        return retryWaiting.remove(task);
    }

    /** Queues every task whose retry (or not-before time) is due at {@code now}; returns how many. */
    public int requeueDue(long now) {
        int count = 0;
        while (!retryWaiting.isEmpty() && now - retryWaiting.peek().retryAt() >= 0) {
            enqueue(retryWaiting.poll(), now);
            count++;
        }
        return count;
    }

    /** When the next retry falls due, or {@link Long#MAX_VALUE} when none waits. */
    public long nextRetryAt() {
        T next = retryWaiting.peek();
        return next == null ? Long.MAX_VALUE : next.retryAt();
    }

    /**
     * Forgets an ended task that no worker holds any more; only this record of it (a later attempt of the same task
     * may be held under its id already, when a durable store gave it to this host again).
     */
    public void release(T task) {
        live.remove(task.id(), task);
    }

    /**
     * Removes and returns every waiting task (queued, or waiting to retry) whose routing key passes the filter: the
     * tasks nothing can run any more.
     */
    public List<T> removeWhere(Predicate<Object> routingKeys) {
        List<T> removed = queue.removeWhere(routingKeys);
        for (T task : List.copyOf(retryWaiting)) {
            if (routingKeys.test(task.routingKey())) {
                retryWaiting.remove(task);
                removed.add(task);
            }
        }
        return removed;
    }

    /** Removes and returns every queued task, in run order. */
    public List<T> drainQueue() {
        return queue.drain();
    }

    /** The tasks waiting to be retried (a copy). */
    public List<T> waitingToRetry() {
        return new ArrayList<>(retryWaiting);
    }

    public int queued() {
        return queue.size();
    }

    public int retrying() {
        return retryWaiting.size();
    }

    /** Whether anything waits: queued, or waiting to be retried. */
    public boolean hasWaiting() {
        return !queue.isEmpty() || !retryWaiting.isEmpty();
    }

    /** Queued tasks whose routing key passes the filter. */
    public int queuedMatching(Predicate<Object> routingKeys) {
        return queue.count(routingKeys);
    }
}
