package dev.procpool.core.internal.retry;

import com.fasterxml.jackson.databind.util.RawValue;
import dev.procpool.AttemptRecord;
import dev.procpool.DeadLetter;
import dev.procpool.DeadLetterQueue;
import dev.procpool.PoolConfig;
import dev.procpool.RemoteError;
import dev.procpool.TaskHandle;
import dev.procpool.TaskRequest;
import dev.procpool.core.internal.text.Units;
import dev.procpool.core.internal.Loggers;
import org.slf4j.Logger;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Function;

/**
 * The bounded dead-letter queue: oldest first, bounded by a number of entries and by the bytes they hold; the
 * oldest entries are evicted (and counted) to make room. Thread-safe.
 *
 * <p>Each payload is held once, as the JSON text of its {@link DeadLetter}: the request is kept without its
 * payload, and {@link #redrive} submits that JSON as it was sent (a Jackson {@link RawValue}, written verbatim by
 * any mapper), so the worker receives the same bytes as the first time.
 *
 * <p>The bytes counted for an entry are those of its text as Java holds it (one byte per character of Latin-1 text,
 * two otherwise): the payload, the messages, every attempt's output tail and remote stack, plus a fixed allowance
 * for the objects around them. An entry larger than the whole byte bound is not kept ({@link #add} returns false,
 * and nothing else is evicted for it).
 */
public final class DeadLetters implements DeadLetterQueue {
    private static final Logger LOG = Loggers.pool();
    /** An allowance for the objects of an entry and of each attempt, beyond their text. */
    private static final long ENTRY_OVERHEAD_BYTES = 256;
    private static final long ATTEMPT_OVERHEAD_BYTES = 160;

    /** A dead letter and its request without the payload, which the letter holds as JSON. */
    private record Entry(DeadLetter letter, TaskRequest requestWithoutPayload, long bytes) {
    }

    private final int capacity;
    private final long maxBytes;
    private final Function<TaskRequest, TaskHandle> submitter;
    private final LinkedHashMap<String, Entry> entries = new LinkedHashMap<>();
    private long bytes;
    private long added;
    private long evicted;
    private long tooLarge;

    /** A queue bounded by {@code capacity} entries and {@link PoolConfig#DEFAULT_DEAD_LETTER_MAX_BYTES}. */
    public DeadLetters(int capacity, Function<TaskRequest, TaskHandle> submitter) {
        this(capacity, PoolConfig.DEFAULT_DEAD_LETTER_MAX_BYTES, submitter);
    }

    /**
     * @param capacity  the most entries kept; 0 keeps none
     * @param maxBytes  the most bytes the entries may hold together (see the class comment for what counts)
     * @param submitter submits a redriven task to the pool
     */
    public DeadLetters(int capacity, long maxBytes, Function<TaskRequest, TaskHandle> submitter) {
        if (capacity < 0) {
            throw new IllegalArgumentException("capacity must be 0 or more, was " + capacity);
        }
        if (maxBytes < 1) {
            throw new IllegalArgumentException("maxBytes must be positive, was " + maxBytes);
        }
        this.capacity = capacity;
        this.maxBytes = maxBytes;
        this.submitter = Objects.requireNonNull(submitter, "submitter");
    }

    /**
     * Adds an entry, replacing an older one of the same task and evicting the oldest as needed; returns whether it
     * was kept (not when the capacity is 0, nor when the entry alone is larger than the byte bound).
     */
    public synchronized boolean add(DeadLetter letter, TaskRequest request) {
        if (capacity == 0) {
            return false;
        }
        Entry entry = new Entry(letter, withPayload(request, null), sizeOf(letter));
        if (entry.bytes() > maxBytes) {
            if (tooLarge++ % 1000 == 0) {
                LOG.warn("dead-letter entry of task {} not kept: it holds {}, more than the queue's whole bound of {}"
                                + " (deadLetterMaxBytes); {} such entries so far", letter.taskId(),
                        Units.bytes(entry.bytes()), Units.bytes(maxBytes), tooLarge);
            }
            return false;
        }
        forget(letter.taskId());
        admit(entry);
        added++;
        return true;
    }

    /** Appends an entry that fits the byte bound on its own, evicting the oldest until it fits beside them. */
    private void admit(Entry entry) {
        Iterator<Entry> oldest = entries.values().iterator();
        while (oldest.hasNext() && (entries.size() >= capacity || bytes + entry.bytes() > maxBytes)) {
            bytes -= oldest.next().bytes();
            oldest.remove();
            evicted++;
        }
        entries.put(entry.letter().taskId(), entry);
        bytes += entry.bytes();
    }

    private Entry forget(String taskId) {
        Entry entry = entries.remove(taskId);
        if (entry != null) {
            bytes -= entry.bytes();
        }
        return entry;
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

    /** The most bytes the entries may hold together. */
    public long maxBytes() {
        return maxBytes;
    }

    /** The bytes the entries hold now. */
    public synchronized long bytes() {
        return bytes;
    }

    /** Entries not kept because each alone was larger than {@link #maxBytes()}. */
    public synchronized long tooLarge() {
        return tooLarge;
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
            entry = forget(taskId);
        }
        if (entry == null) {
            throw new IllegalArgumentException("no dead-letter entry for task \"" + taskId + "\"");
        }
        String json = entry.letter().payloadJson();
        TaskRequest request = withPayload(entry.requestWithoutPayload(), json == null ? null : new RawValue(json));
        if (request.id().isEmpty()) {
            request = request.withId(taskId);
        }
        try {
            return submitter.apply(request);
        } catch (RuntimeException e) {
            synchronized (this) {
                if (!entries.containsKey(taskId)) { // not accepted: keep the record, as the newest entry
                    admit(entry);
                }
            }
            throw e;
        }
    }

    @Override
    public synchronized boolean remove(String taskId) {
        return forget(taskId) != null;
    }

    @Override
    public synchronized int purge() {
        int count = entries.size();
        entries.clear();
        bytes = 0;
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

    /** The request with another payload and every other setting kept. */
    private static TaskRequest withPayload(TaskRequest request, Object payload) {
        TaskRequest copy = TaskRequest.of(request.type(), payload).withPriority(request.priority());
        if (request.timeout().isPresent()) {
            copy = copy.withTimeout(request.timeout().get());
        }
        if (request.id().isPresent()) {
            copy = copy.withId(request.id().get());
        }
        if (request.retryPolicy().isPresent()) {
            copy = copy.withRetryPolicy(request.retryPolicy().get());
        }
        if (!request.requiredCapabilities().isEmpty()) {
            copy = copy.withRequiredCapabilities(request.requiredCapabilities().toArray(String[]::new));
        }
        if (request.affinityKey().isPresent()) {
            copy = copy.withAffinityKey(request.affinityKey().get());
        }
        return copy;
    }

    /** The bytes an entry holds: its text as Java stores it, and an allowance for the objects around it. */
    static long sizeOf(DeadLetter letter) {
        long size = ENTRY_OVERHEAD_BYTES + text(letter.taskId()) + text(letter.taskType())
                + text(letter.payloadJson()) + text(letter.message());
        for (AttemptRecord attempt : letter.attempts()) {
            size += ATTEMPT_OVERHEAD_BYTES + text(attempt.workerId()) + text(attempt.detail());
            for (String line : attempt.stderrTail()) {
                size += text(line) + 16;
            }
            RemoteError remote = attempt.remoteError();
            if (remote != null) {
                size += text(remote.className()) + text(remote.message()) + text(remote.stack());
            }
        }
        return size;
    }

    /** The bytes of a string's characters in the JVM: one per character when all are Latin-1, else two. */
    private static long text(String s) {
        if (s == null) {
            return 0;
        }
        for (int i = 0; i < s.length(); i++) {
            if (s.charAt(i) > 0xFF) {
                return 2L * s.length();
            }
        }
        return s.length();
    }
}
