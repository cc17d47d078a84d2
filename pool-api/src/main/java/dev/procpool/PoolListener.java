package dev.procpool;

/**
 * Receives a pool's events. Called on the pool's single event thread, in the order the events happened. An
 * exception thrown by a listener is logged and never affects the pool; a slow listener delays only other
 * listeners (events beyond a bounded backlog are dropped and counted, never blocking the pool).
 */
@FunctionalInterface
public interface PoolListener {
    /**
     * Receives one event.
     *
     * @param event what happened
     */
    void onEvent(PoolEvent event);
}
