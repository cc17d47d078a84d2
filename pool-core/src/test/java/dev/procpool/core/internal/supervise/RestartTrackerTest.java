package dev.procpool.core.internal.supervise;

import dev.procpool.RestartPolicy;
import org.junit.jupiter.api.Test;

import java.time.Duration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class RestartTrackerTest {
    private static final long MS = 1_000_000L;
    private static final long T0 = 123_456_789_000L;
    /** A random number that makes the jitter exactly zero. */
    private static final double NO_JITTER = 0.5;

    private final RestartPolicy policy = RestartPolicy.builder().initialDelay(Duration.ofMillis(100)).multiplier(2)
            .maxDelay(Duration.ofSeconds(30)).jitter(0.2).maxRestarts(3).window(Duration.ofSeconds(60)).build();
    private final long window = policy.window().toNanos();

    @Test
    void consecutive_failures_get_growing_delays() {
        RestartTracker tracker = new RestartTracker(policy);
        assertEquals(100 * MS, tracker.recordFailure(T0, NO_JITTER));
        assertEquals(200 * MS, tracker.recordFailure(T0 + 1, NO_JITTER));
        assertEquals(400 * MS, tracker.recordFailure(T0 + 2, NO_JITTER));
        assertEquals(3, tracker.consecutiveFailures());
    }

    @Test
    void the_delay_carries_the_policy_jitter() {
        RestartTracker tracker = new RestartTracker(policy);
        assertEquals(80 * MS, tracker.recordFailure(T0, 0.0));
        RestartTracker other = new RestartTracker(policy);
        long top = other.recordFailure(T0, Math.nextDown(1.0));
        assertTrue(top > 119 * MS && top <= 120 * MS, "" + top);
    }

    @Test
    void more_restarts_than_allowed_within_the_window_are_over_the_limit_and_get_the_maximum_delay() {
        RestartTracker tracker = new RestartTracker(policy);
        for (int i = 0; i < 3; i++) {
            tracker.recordFailure(T0 + i * MS, NO_JITTER);
            assertFalse(tracker.isOverLimit(T0 + i * MS), "restart " + (i + 1) + " is within the limit");
        }
        assertEquals(policy.maxDelay().toNanos(), tracker.recordFailure(T0 + 3 * MS, NO_JITTER));
        assertTrue(tracker.isOverLimit(T0 + 3 * MS));
        assertEquals(4, tracker.restartsInWindow(T0 + 3 * MS));
    }

    @Test
    void restarts_leave_the_window_after_exactly_its_length() {
        RestartTracker tracker = new RestartTracker(policy);
        for (int i = 0; i < 4; i++) {
            tracker.recordFailure(T0 + i * MS, NO_JITTER);
        }
        assertTrue(tracker.isOverLimit(T0 + window - 1));
        assertEquals(4, tracker.restartsInWindow(T0 + window - 1));
        assertFalse(tracker.isOverLimit(T0 + window), "the first restart is out of the window");
        assertEquals(3, tracker.restartsInWindow(T0 + window));
        assertEquals(0, tracker.restartsInWindow(T0 + 3 * MS + window));
    }

    @Test
    void restarts_spread_wider_than_the_window_never_reach_the_limit() {
        RestartTracker tracker = new RestartTracker(policy);
        long step = window / 3;
        for (int i = 0; i < 20; i++) {
            long now = T0 + i * step;
            tracker.recordFailure(now, NO_JITTER);
            assertFalse(tracker.isOverLimit(now), "restart " + (i + 1));
            assertTrue(tracker.restartsInWindow(now) <= 3);
        }
    }

    @Test
    void a_stable_worker_resets_the_backoff_but_not_the_intensity() {
        RestartTracker tracker = new RestartTracker(policy);
        tracker.recordFailure(T0, NO_JITTER);
        tracker.recordFailure(T0 + MS, NO_JITTER);
        assertEquals(2, tracker.consecutiveFailures());
        tracker.recordStable();
        assertEquals(0, tracker.consecutiveFailures());
        assertEquals(100 * MS, tracker.recordFailure(T0 + 2 * MS, NO_JITTER));
        assertEquals(3, tracker.restartsInWindow(T0 + 2 * MS));
    }

    @Test
    void a_failure_while_over_the_limit_still_counts_towards_the_backoff() {
        RestartTracker tracker = new RestartTracker(policy);
        for (int i = 0; i < 5; i++) {
            tracker.recordFailure(T0 + i, NO_JITTER);
        }
        assertEquals(5, tracker.consecutiveFailures());
        // once the window has passed, the delay continues from the consecutive count (100 ms × 2^5)
        assertEquals(3_200 * MS, tracker.recordFailure(T0 + 2 * window, NO_JITTER));
    }

    @Test
    void a_new_tracker_is_within_the_limit() {
        RestartTracker tracker = new RestartTracker(policy);
        assertFalse(tracker.isOverLimit(T0));
        assertEquals(0, tracker.restartsInWindow(T0));
        assertEquals(0, tracker.consecutiveFailures());
    }
}
