package dev.procpool;

/**
 * A source of monotonic nanoseconds. The pool reads time only through its ticker, so tests can drive heartbeat
 * checks, timeouts and backoff with a fake one.
 */
@FunctionalInterface
public interface Ticker {
    /** {@return the time in nanoseconds from an arbitrary fixed origin; only differences are meaningful} */
    long read();

    /** {@return the system ticker, {@link System#nanoTime()}} */
    static Ticker system() {
        return System::nanoTime;
    }
}
