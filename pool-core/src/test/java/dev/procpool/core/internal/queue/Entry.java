package dev.procpool.core.internal.queue;

/**
 * A queue entry for the queue tests, as the dispatcher's task records are: fixed rank and sequence, a mutable slot.
 * Its name is also its routing key.
 */
final class Entry implements QueueEntry {
    final String name;
    final long rank;
    final long sequence;
    int index = -1;

    Entry(String name, long rank, long sequence) {
        this.name = name;
        this.rank = rank;
        this.sequence = sequence;
    }

    @Override
    public Object routingKey() {
        return name;
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
        return index;
    }

    @Override
    public void queueIndex(int index) {
        this.index = index;
    }

    @Override
    public String toString() {
        return name + "(" + rank + "/" + sequence + ")";
    }
}
