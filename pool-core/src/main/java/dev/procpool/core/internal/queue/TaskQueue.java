package dev.procpool.core.internal.queue;

import java.util.List;
import java.util.function.Predicate;

/**
 * The seam between scheduling and task storage. The dispatcher sees only this interface, so a durable or shared
 * store can replace the in-memory heap without touching scheduling. Implementations need not be thread-safe: the
 * dispatcher calls them under its lock.
 */
public interface TaskQueue<T extends QueueEntry> {
    void add(T entry);

    /** Removes the entry if it is queued; returns whether it was. */
    boolean remove(T entry);

    /** The first entry in run order that passes the filter, without removing it; {@code null} if none. */
    T peekFirst(Predicate<? super T> eligible);

    int size();

    default boolean isEmpty() {
        return size() == 0;
    }

    /** Removes and returns every entry, in run order. */
    List<T> drain();
}
