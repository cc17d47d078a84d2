package dev.procpool.core.internal.engine;

import dev.procpool.DeadLetter;
import dev.procpool.DeadLetterQueue;
import dev.procpool.TaskHandle;
import dev.procpool.TaskState;
import dev.procpool.core.internal.store.DurableStore;
import dev.procpool.core.internal.store.StoredTask;

import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Function;
import java.util.function.LongSupplier;
import java.util.function.ToLongFunction;

/**
 * The dead-letter queue of a durable task store: the dead letters of every host of the pool, kept with every attempt
 * for the store's dead-letter retention instead of a count bound, so nothing is evicted ({@link #evicted()} stays 0;
 * they expire). Every call reads or writes the store.
 */
final class StoredDeadLetters implements DeadLetterQueue {
    /** How many entries {@link #list()} reads per query. */
    private static final int PAGE = 1000;

    private final DurableStore store;
    private final Clock clock;
    private final ToLongFunction<StoredTask> rank;
    private final Function<String, TaskHandle> handles;
    private final LongSupplier added;

    /**
     * @param store   the store
     * @param clock   the wall clock
     * @param rank    the run order a redriven task gets in the store
     * @param handles a handle on a task of the store by id
     * @param added   how many tasks this host dead-lettered since it started
     */
    StoredDeadLetters(DurableStore store, Clock clock, ToLongFunction<StoredTask> rank,
                      Function<String, TaskHandle> handles, LongSupplier added) {
        this.store = store;
        this.clock = clock;
        this.rank = rank;
        this.handles = handles;
        this.added = added;
    }

    @Override
    public List<DeadLetter> list() {
        List<DeadLetter> all = new ArrayList<>();
        for (int offset = 0; ; offset += PAGE) {
            List<StoredTask> page = store.deadLetters(offset, PAGE);
            page.forEach(task -> all.add(StoredViews.deadLetter(task)));
            if (page.size() < PAGE) {
                return all;
            }
        }
    }

    @Override
    public int size() {
        return store.deadLetterCount();
    }

    /** {@return {@link Integer#MAX_VALUE}: a store keeps dead letters for a time (its dead-letter retention)} */
    @Override
    public int capacity() {
        return Integer.MAX_VALUE;
    }

    @Override
    public Optional<DeadLetter> get(String taskId) {
        Objects.requireNonNull(taskId, "taskId");
        return store.find(taskId).filter(t -> t.state() == TaskState.DEAD_LETTERED)
                .map(StoredViews::deadLetter);
    }

    @Override
    public TaskHandle redrive(String taskId) {
        Objects.requireNonNull(taskId, "taskId");
        StoredTask letter = store.find(taskId).filter(t -> t.state() == TaskState.DEAD_LETTERED)
                .orElseThrow(() -> new IllegalArgumentException("no dead letter has task id \"" + taskId + "\""));
        if (!store.redrive(taskId, rank.applyAsLong(letter), clock.instant())) {
            throw new IllegalArgumentException("no dead letter has task id \"" + taskId + "\" (redriven or "
                    + "removed meanwhile)");
        }
        return handles.apply(taskId);
    }

    @Override
    public boolean remove(String taskId) {
        return store.removeDeadLetter(Objects.requireNonNull(taskId, "taskId"));
    }

    @Override
    public int purge() {
        return store.purgeDeadLetters();
    }

    /** {@return the tasks this host dead-lettered since it started} */
    @Override
    public long added() {
        return added.getAsLong();
    }

    @Override
    public long evicted() {
        return 0;
    }
}
