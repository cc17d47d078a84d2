package dev.procpool;

/**
 * The pool's lifecycle: {@code NEW → RUNNING → DRAINING → TERMINATED}. A running pool that cannot keep its
 * workers alive is {@code DEGRADED}: it still accepts tasks and returns to {@code RUNNING} when workers stay up.
 */
public enum PoolState {
    /** Built, its workers starting; it becomes {@code RUNNING} once every worker is ready. */
    NEW,
    /** Accepting and running tasks. */
    RUNNING,
    /** Accepting and running tasks, but its workers restart more often than the restart policy allows. */
    DEGRADED,
    /** Shutting down: no new tasks; those accepted finish or are cancelled, then the workers stop. */
    DRAINING,
    /** Every task has ended and every worker has exited. */
    TERMINATED;

    /** {@return whether the pool accepts new tasks in this state} */
    public boolean acceptsTasks() {
        return this == RUNNING || this == DEGRADED;
    }
}
