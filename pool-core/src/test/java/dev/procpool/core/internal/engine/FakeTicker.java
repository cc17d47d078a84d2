package dev.procpool.core.internal.engine;

import dev.procpool.Ticker;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;

/** A ticker the test moves by hand. Starts at an arbitrary non-zero origin so no code can rely on 0. */
final class FakeTicker implements Ticker {
    static final long ORIGIN = 7_000_000_000_000L;

    private final AtomicLong nanos = new AtomicLong(ORIGIN);

    @Override
    public long read() {
        return nanos.get();
    }

    /** Moves time forward and returns the new reading. */
    long advance(Duration by) {
        return advanceNanos(by.toNanos());
    }

    long advanceNanos(long by) {
        if (by < 0) {
            throw new IllegalArgumentException("time does not go back: " + by);
        }
        return nanos.addAndGet(by);
    }

    /** Sets the time (never backwards) and returns it. */
    long set(long at) {
        if (at < nanos.get()) {
            throw new IllegalArgumentException("time does not go back: " + at + " < " + nanos.get());
        }
        nanos.set(at);
        return at;
    }
}
