package dev.procpool.core.internal.store;

import java.util.Collection;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Callers waiting for tasks to end, wherever they run: completed when this host records an end, when another
 * host's end is notified, or when a poll finds the task in the ended table. Thread-safe.
 */
final class OutcomeWatcher {
    private final ConcurrentHashMap<String, CompletableFuture<StoredTask>> watched = new ConcurrentHashMap<>();
    private final Reads reads;

    OutcomeWatcher(Reads reads) {
        this.reads = reads;
    }

    /** A future of the ended task; each caller gets its own copy, so cancelling one does not affect others. */
    CompletableFuture<StoredTask> await(String id) {
        CompletableFuture<StoredTask> end = watched.computeIfAbsent(id, key -> new CompletableFuture<>());
        CompletableFuture<StoredTask> copy = end.copy();
        Optional<StoredTask> now = reads.find(id); // if this fails the watch stays: polls complete it later
        if (now.isEmpty()) {
            watched.remove(id, end);
            end.completeExceptionally(new NoSuchElementException("no task with id \"" + id + "\" in the store "
                    + "(never submitted, or ended longer ago than the retention)"));
        } else if (now.get().state().isTerminal()) {
            complete(id, now.get());
        }
        return copy;
    }

    /**
     * As {@link #await}, for a task the caller knows exists and has not ended (it just inserted it, or holds it):
     * no lookup now; notifications and polls complete it.
     */
    CompletableFuture<StoredTask> watch(String id) {
        return watched.computeIfAbsent(id, key -> new CompletableFuture<>()).copy();
    }

    /** Stops watching a task whose end the caller learned otherwise (it ended it itself). */
    void unwatch(String id) {
        watched.remove(id);
    }

    boolean isEmpty() {
        return watched.isEmpty();
    }

    /** These tasks ended: complete whoever waits for them. */
    void ended(Collection<String> ids) {
        for (String id : ids) {
            if (watched.containsKey(id)) {
                reads.findEnded(id).ifPresent(task -> complete(id, task));
            }
        }
    }

    /** Looks up every watched task, for when notifications may have been missed or do not exist. */
    void pollAll() {
        if (watched.isEmpty()) {
            return;
        }
        List<String> ids = List.copyOf(watched.keySet());
        for (int from = 0; from < ids.size(); from += Writes.STEP) {
            ended(reads.endedAmong(ids.subList(from, Math.min(ids.size(), from + Writes.STEP))));
        }
    }

    /** Fails every wait (the store is closing). */
    void failAll(RuntimeException e) {
        watched.forEach((id, future) -> {
            if (watched.remove(id, future)) {
                future.completeExceptionally(e);
            }
        });
    }

    private void complete(String id, StoredTask task) {
        CompletableFuture<StoredTask> future = watched.remove(id);
        if (future != null) {
            future.complete(task);
        }
    }
}
