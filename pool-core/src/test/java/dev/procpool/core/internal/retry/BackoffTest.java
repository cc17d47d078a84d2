package dev.procpool.core.internal.retry;

import org.junit.jupiter.api.Test;

import java.time.Duration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class BackoffTest {
    private static final long INITIAL = Duration.ofMillis(100).toNanos();
    private static final long MAX = Duration.ofSeconds(10).toNanos();
    /** A random number that makes the jitter factor exactly 1. */
    private static final double MIDDLE = 0.5;
    /** The largest double below 1: the top of the random range [0, 1). */
    private static final double ALMOST_ONE = Math.nextDown(1.0);

    private static long delay(int failures, double jitter, double random) {
        return Backoff.delayNanos(failures, INITIAL, 2.0, MAX, jitter, random);
    }

    @Test
    void the_first_delay_is_the_initial_delay() {
        assertEquals(INITIAL, delay(1, 0.2, MIDDLE));
    }

    @Test
    void each_failure_multiplies_the_delay() {
        for (int failures = 1; failures <= 7; failures++) {
            assertEquals(INITIAL << (failures - 1), delay(failures, 0.2, MIDDLE), "failures=" + failures);
        }
        assertEquals(Duration.ofMillis(300).toNanos(), Backoff.delayNanos(2, INITIAL, 3.0, MAX, 0, 0.9));
        assertEquals(Duration.ofMillis(150).toNanos(), Backoff.delayNanos(2, INITIAL, 1.5, MAX, 0, 0.1));
    }

    @Test
    void a_multiplier_of_one_keeps_the_delay_constant() {
        for (int failures = 1; failures <= 50; failures++) {
            assertEquals(INITIAL, Backoff.delayNanos(failures, INITIAL, 1.0, MAX, 0, 0.3));
        }
    }

    @Test
    void the_delay_is_capped_at_the_maximum() {
        assertEquals(Duration.ofMillis(6_400).toNanos(), delay(7, 0.2, MIDDLE));
        assertEquals(MAX, delay(8, 0.2, MIDDLE)); // 12.8 s capped
        assertEquals(MAX, delay(100, 0.2, MIDDLE));
        assertEquals(MAX, delay(5_000, 0.2, MIDDLE), "multiplier^(n-1) overflows to infinity");
        assertEquals(MAX, delay(Integer.MAX_VALUE, 0.2, MIDDLE));
    }

    @Test
    void jitter_spreads_the_delay_within_plus_or_minus_its_fraction() {
        assertEquals(Duration.ofMillis(80).toNanos(), delay(1, 0.2, 0.0));
        long top = delay(1, 0.2, ALMOST_ONE);
        assertTrue(top <= Duration.ofMillis(120).toNanos() && top >= Duration.ofMillis(120).toNanos() - 1, "" + top);
        for (double random = 0; random < 1; random += 0.01) {
            long d = delay(3, 0.25, random);
            assertTrue(d >= Duration.ofMillis(300).toNanos() && d <= Duration.ofMillis(500).toNanos(),
                    "random=" + random + " gave " + d);
        }
    }

    @Test
    void jitter_grows_with_the_random_number() {
        long previous = -1;
        for (double random = 0; random < 1; random += 0.05) {
            long d = delay(2, 0.5, random);
            assertTrue(d >= previous, "random=" + random);
            previous = d;
        }
    }

    @Test
    void jitter_never_exceeds_the_maximum_but_may_go_below_it() {
        assertEquals(MAX, delay(30, 0.2, ALMOST_ONE));
        assertEquals((long) (MAX * 0.8), delay(30, 0.2, 0.0));
    }

    @Test
    void without_jitter_the_random_number_does_not_matter() {
        assertEquals(Duration.ofMillis(400).toNanos(), delay(3, 0, 0.0));
        assertEquals(Duration.ofMillis(400).toNanos(), delay(3, 0, ALMOST_ONE));
    }

    @Test
    void full_jitter_can_reach_zero_but_never_goes_negative() {
        assertEquals(0, delay(4, 1.0, 0.0));
        assertTrue(delay(4, 1.0, ALMOST_ONE) <= 2 * Duration.ofMillis(800).toNanos());
    }

    @Test
    void fewer_than_one_failure_means_no_delay() {
        assertEquals(0, delay(0, 0.2, MIDDLE));
        assertEquals(0, delay(-1, 0.2, MIDDLE));
        assertEquals(0, delay(Integer.MIN_VALUE, 0.2, ALMOST_ONE));
    }

    @Test
    void a_zero_initial_delay_stays_zero() {
        for (int failures = 1; failures <= 10; failures++) {
            assertEquals(0, Backoff.delayNanos(failures, 0, 2.0, MAX, 0.2, ALMOST_ONE));
        }
    }
}
