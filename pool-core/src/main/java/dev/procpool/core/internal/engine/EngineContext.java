package dev.procpool.core.internal.engine;

import dev.procpool.PoolConfig;
import dev.procpool.PoolEvent;
import dev.procpool.core.internal.events.EventBus;
import dev.procpool.core.internal.protocol.FrameCodec;

import java.time.Clock;
import java.util.concurrent.Executor;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.DoubleSupplier;

/**
 * What every room of the engine shares: the configuration, the one lock, time, randomness, events and where slow
 * effects run. Rooms assert that the lock is held where they change state ({@link #assertLocked()}, checked when
 * assertions are on, as in tests).
 */
final class EngineContext {
    final PoolConfig config;
    final FrameCodec codec;
    final EventBus events;
    final Clock clock;
    final DoubleSupplier random;
    /** Where slow effects (fork, signals, /proc and file I/O) run: never a worker's reader thread. */
    final Executor slowEffects;
    final ReentrantLock lock = new ReentrantLock();
    private final Runnable wakeMaintenance;
    final Trackers trackers;
    /** When maintenance is next due as it last computed, so that only earlier deadlines wake it. */
    private long maintenanceDue = Long.MIN_VALUE;

    EngineContext(PoolConfig config, FrameCodec codec, EventBus events, Clock clock, DoubleSupplier random,
                  Executor slowEffects, Runnable wakeMaintenance) {
        this.config = config;
        this.codec = codec;
        this.events = events;
        this.clock = clock;
        this.random = random;
        this.slowEffects = slowEffects;
        this.wakeMaintenance = wakeMaintenance;
        this.trackers = new Trackers(config.name(), config.trackers());
    }

    String name() {
        return config.name();
    }

    long now() {
        return config.ticker().read();
    }

    void assertLocked() {
        assert lock.isHeldByCurrentThread() : "the engine's lock must be held here";
    }

    boolean listening() {
        return events.hasListeners();
    }

    void publish(PoolEvent event) {
        events.publish(event);
    }

    /** Something falls due at {@code at}: wakes maintenance if that is before it planned to look. */
    void dueAt(long at) {
        assertLocked();
        if (maintenanceDue == Long.MIN_VALUE || maintenanceDue == Long.MAX_VALUE || at - maintenanceDue < 0) {
            maintenanceDue = at;
            wakeMaintenance.run();
        }
    }

    /** Something must be looked at by maintenance now. */
    void wakeMaintenance() {
        assertLocked();
        maintenanceDue = now();
        wakeMaintenance.run();
    }

    /** Maintenance will next look at {@code at} ({@link Long#MAX_VALUE}: nothing is due). */
    void maintenancePlanned(long at) {
        maintenanceDue = at;
    }
}
