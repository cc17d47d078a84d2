package dev.procpool;

/**
 * The pool's lifecycle: {@code NEW → RUNNING → DRAINING → TERMINATED}. A running pool that cannot keep its
 * workers alive is {@code DEGRADED}: it still accepts tasks and returns to {@code RUNNING} when workers stay up.
 */
public enum PoolState {
    NEW, RUNNING, DEGRADED, DRAINING, TERMINATED;

    /** Whether the pool accepts new tasks in this state. */
    public boolean acceptsTasks() {
        return this == RUNNING || this == DEGRADED;
    }
}
