package dev.procpool.core.internal.store;

/**
 * What the store tells the engine without being asked. Called on a store thread, never under a store lock; an
 * implementation should only note the event and wake its own thread.
 */
public interface StoreEvents {
    /**
     * There may be tasks to claim: tasks were inserted or queued again (by this host or, with notifications, by
     * another), or a poll interval passed where no notification can arrive.
     */
    default void tasksAvailable() {
    }

    /** Someone asked to cancel a task this host holds (the engine maps the id to its running attempt). */
    default void cancelRequested(String taskId) {
    }

    /** Events that nobody listens to. */
    StoreEvents NONE = new StoreEvents() {
    };
}
