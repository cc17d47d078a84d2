package dev.procpool.core.internal.engine;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The send-ahead window as a function of the times it is told: no clock, no worker. */
class SendAheadTest {
    private static final long US = 1_000;
    private static final long MS = 1_000 * US;

    /** An answer to a task the worker started as it arrived: the round trip plus the task's own time. */
    private static void atOnce(SendAhead window, long roundTrip, long task) {
        window.answered(roundTrip + task, task, true, 1);
    }

    /** An answer to a task that waited at the worker: it says nothing of the round trip. */
    private static void queued(SendAhead window, long waited, long task) {
        window.answered(waited + task, task, false, 1);
    }

    @Test
    void isClosedUntilBothTimesAreKnown() {
        SendAhead window = new SendAhead();
        assertEquals(0, window.window());
        queued(window, 0, 2 * US); // a task time, but no round trip yet
        assertEquals(0, window.window());
        atOnce(window, 30 * US, 2 * US);
        assertEquals(15, window.window(), "a 30 µs round trip holds 15 tasks of 2 µs");
    }

    @Test
    void holdsAboutOneRoundTripOfWorkAndNeverMoreThanTheMaximum() {
        SendAhead window = new SendAhead();
        atOnce(window, 100 * US, 10 * US);
        assertEquals(10, window.window());
        SendAhead tiny = new SendAhead();
        atOnce(tiny, 100 * US, 100); // 0.1 µs counts as 1 µs: 100, capped
        assertEquals(SendAhead.MAX_WINDOW, tiny.window());
    }

    @Test
    void holdsOneTaskForTasksOfUpTo32RoundTripsAndNoneForLongerOnes() {
        SendAhead window = new SendAhead();
        for (int i = 0; i < 100; i++) {
            atOnce(window, 40 * US, MS); // 25 round trips
            assertEquals(1, window.window());
        }
        SendAhead longer = new SendAhead();
        for (int i = 0; i < 100; i++) {
            atOnce(longer, 40 * US, 2 * MS); // 50 round trips
            assertEquals(0, longer.window());
        }
    }

    @Test
    void aRoundTripMeasuredSlowDoesNotLetTasksOverTwoMillisecondsGoAhead() {
        SendAhead window = new SendAhead();
        atOnce(window, 5 * MS, 100 * MS); // a fresh worker's first answers are slow: 100 ms is 20 round trips
        assertEquals(0, window.window());
        SendAhead twoMillis = new SendAhead();
        atOnce(twoMillis, MS, 2 * MS);
        assertEquals(1, twoMillis.window(), "2 ms tasks, 2 round trips: one ahead");
        SendAhead threeMillis = new SendAhead();
        atOnce(threeMillis, MS, 3 * MS);
        assertEquals(0, threeMillis.window(), "3 ms tasks, 3 round trips: none, over 2 ms");
    }

    @Test
    void closesAtTheFirstLongTaskAndReopensSlowly() {
        SendAhead window = new SendAhead();
        atOnce(window, 40 * US, 2 * US);
        assertEquals(20, window.window());
        queued(window, 0, 5 * MS);
        assertEquals(0, window.window(), "one long task closes it at once");
        int answers = 0;
        while (window.window() < 15 && answers < 1_000) {
            queued(window, 0, 2 * US);
            answers++;
        }
        assertTrue(answers > 20 && answers < 100, "reopened to 15 after " + answers + " short answers");
    }

    @Test
    void aSlowRoundTripHardlyMovesTheAverageAQuickOneMovesItHalfway() {
        SendAhead window = new SendAhead();
        atOnce(window, 40 * US, 10 * US);
        atOnce(window, 4 * MS, 10 * US); // a garbage collection, or a busy host
        assertEquals(40 * US + (4 * MS - 40 * US) / 16, window.roundTripNanos());
        long before = window.roundTripNanos();
        atOnce(window, 20 * US, 10 * US);
        assertEquals(before + (20 * US - before) / 2, window.roundTripNanos());
    }

    @Test
    void severalSlotsTakeSeveralTimesTheWork() {
        SendAhead window = new SendAhead();
        window.answered(30 * US + 3 * US, 3 * US, true, 4);
        assertEquals(40, window.window());
    }

    @Test
    void aWorkerThatDoesNotSayItsTimesGetsNoWindow() {
        SendAhead window = new SendAhead();
        for (int i = 0; i < 10; i++) {
            window.answered(30 * US, -1, true, 1);
        }
        assertEquals(0, window.window());
        assertEquals(-1, window.roundTripNanos());
    }
}
