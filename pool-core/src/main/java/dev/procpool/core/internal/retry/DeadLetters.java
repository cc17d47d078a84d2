package dev.procpool.core.internal.retry;

import dev.procpool.DeadLetter;
import dev.procpool.DeadLetterQueue;
import dev.procpool.TaskHandle;
import dev.procpool.TaskRequest;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Function;

/** The bounded dead-letter queue: oldest first, the oldest evicted when full. Thread-safe. */
public final class DeadLetters implements DeadLetterQueue {
    private record Entry(DeadLetter letter, TaskRequest request) {
    }

    private final int capacity;
    private final Function<TaskRequest, TaskHandle> submitter;
    private final LinkedHashMap<String, Entry> entries = new LinkedHashMap<>();
    private long added;
    private long evicted;

    public DeadLetters(int capacity, Function<TaskRequest, TaskHandle> submitter) {
        this.capacity = capacity;
        this.submitter = submitter;
    }

    /** Adds an entry (replacing an older one of the same task); returns whether it was kept (capacity > 0). */
    public synchronized boolean add(DeadLetter letter, TaskRequest request) {
        if (capacity == 0) {
            return false;
        }
        entries.remove(letter.taskId());
        while (entries.size() >= capacity) {
            Iterator<Map.Entry<String, Entry>> oldest = entries.entrySet().iterator();
            oldest.next();
            oldest.remove();
            evicted++;
        }
        entries.put(letter.taskId(), new Entry(letter, request));
        added++;
        return true;
    }

    @Override
    public synchronized List<DeadLetter> list() {
        List<DeadLetter> all = new ArrayList<>(entries.size());
        entries.values().forEach(e -> all.add(e.letter()));
        return all;
    }

    @Override
    public synchronized int size() {
        return entries.size();
    }

    @Override
    public int capacity() {
        return capacity;
    }

    @Override
    public synchronized Optional<DeadLetter> get(String taskId) {
        Entry entry = entries.get(taskId);
        return entry == null ? Optional.empty() : Optional.of(entry.letter());
    }

    @Override
    public TaskHandle redrive(String taskId) {
        Objects.requireNonNull(taskId, "taskId");
        Entry entry;
        synchronized (this) {
            entry = entries.remove(taskId);
        }
        if (entry == null) {
            throw new IllegalArgumentException("no dead-letter entry for task \"" + taskId + "\"");
        }
        TaskRequest request = entry.request().id().isPresent() ? entry.request() : entry.request().withId(taskId);
        try {
            return submitter.apply(request);
        } catch (RuntimeException e) {
            synchronized (this) {
                entries.putIfAbsent(taskId, entry); // not accepted: keep the record
            }
            throw e;
        }
    }

    @Override
    public synchronized boolean remove(String taskId) {
        return entries.remove(taskId) != null;
    }

    @Override
    public synchronized int purge() {
        int count = entries.size();
        entries.clear();
        return count;
    }

    @Override
    public synchronized long added() {
        return added;
    }

    @Override
    public synchronized long evicted() {
        return evicted;
    }
}
