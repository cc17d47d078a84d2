package dev.procpool.core.internal.store;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;

/**
 * Lets concurrent callers share one transaction: each {@link #submit} queues an item and returns a future; one
 * committer thread takes whatever is queued (up to a weight limit), runs the whole batch through the batch
 * function (one transaction, one fsync), and completes each item's future after it returns, that is after the
 * commit. There is no artificial delay: at low load a batch holds one item, and under load the items that queue
 * while one transaction commits form the next, so durability stops costing one fsync per task.
 *
 * <p>If a batch of several items fails with a {@link IllegalStateException} (a statement the database refused,
 * not an outage), each item is run again alone, so one bad item fails only its own caller. An outage fails the
 * whole batch: every item was rolled back together.
 *
 * @param <T> the items
 */
final class GroupCommit<T extends GroupCommit.Item> implements AutoCloseable {
    /** A unit of work with its future. */
    abstract static class Item {
        final CompletableFuture<Object> future = new CompletableFuture<>();

        /** How much of a batch this item uses (tasks inserted or recorded; 1 for other work). */
        int weight() {
            return 1;
        }
    }

    /** Runs a batch in one transaction; returns one result per item, in order. Called on the committer thread. */
    @FunctionalInterface
    interface Batch<T> {
        List<Object> run(List<T> items);
    }

    private final LinkedBlockingQueue<T> queue = new LinkedBlockingQueue<>();
    private final Batch<T> batch;
    private final int maxWeight;
    private final Thread thread;
    private volatile boolean closed;

    GroupCommit(ThreadFactory threads, String role, int maxWeight, Batch<T> batch) {
        this.batch = batch;
        this.maxWeight = maxWeight;
        this.thread = threads.newThread(this::loop);
        this.thread.setName(thread.getName() + role);
        this.thread.setDaemon(true);
    }

    void start() {
        thread.start();
    }

    /** Queues an item; its future completes after its batch committed (or failed). */
    CompletableFuture<Object> submit(T item) {
        if (closed) {
            item.future.completeExceptionally(new IllegalStateException("the task store is closed"));
            return item.future;
        }
        queue.add(item);
        if (closed && queue.remove(item)) { // raced with close(): do not leave the caller waiting
            item.future.completeExceptionally(new IllegalStateException("the task store is closed"));
        }
        return item.future;
    }

    /** Whether the current thread is the committer (which must not wait on its own futures). */
    boolean isCommitterThread() {
        return Thread.currentThread() == thread;
    }

    private void loop() {
        List<T> items = new ArrayList<>();
        while (!closed || !queue.isEmpty()) {
            try {
                T first = queue.poll(100, TimeUnit.MILLISECONDS);
                if (first == null) {
                    continue;
                }
                items.add(first);
                int weight = first.weight();
                T next;
                while (weight < maxWeight && (next = queue.peek()) != null
                        && weight + next.weight() <= maxWeight) {
                    items.add(queue.poll());
                    weight += next.weight();
                }
                runAndComplete(items);
            } catch (InterruptedException e) {
                if (closed) {
                    break;
                }
            } finally {
                items.clear();
            }
        }
        T left;
        while ((left = queue.poll()) != null) {
            left.future.completeExceptionally(new IllegalStateException("the task store is closed"));
        }
    }

    private void runAndComplete(List<T> items) {
        try {
            complete(items, batch.run(items));
        } catch (IllegalStateException refused) {
            if (items.size() == 1) {
                items.get(0).future.completeExceptionally(refused);
                return;
            }
            for (T item : items) { // isolate the item the database refused
                try {
                    complete(List.of(item), batch.run(List.of(item)));
                } catch (RuntimeException | Error e) {
                    item.future.completeExceptionally(e);
                }
            }
        } catch (RuntimeException | Error e) {
            items.forEach(item -> item.future.completeExceptionally(e));
        }
    }

    private static <T extends Item> void complete(List<T> items, List<Object> results) {
        for (int i = 0; i < items.size(); i++) {
            items.get(i).future.complete(results.get(i));
        }
    }

    /** Runs what is queued, then stops the thread; later submits fail. Waits up to {@code timeoutMillis}. */
    @Override
    public void close() {
        closeWithin(10_000);
    }

    void closeWithin(long timeoutMillis) {
        closed = true;
        if (thread.isAlive() && Thread.currentThread() != thread) {
            try {
                thread.join(timeoutMillis);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        T left;
        while ((left = queue.poll()) != null) {
            left.future.completeExceptionally(new IllegalStateException("the task store is closed"));
        }
    }
}
