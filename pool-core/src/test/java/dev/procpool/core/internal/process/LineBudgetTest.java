package dev.procpool.core.internal.process;

import org.junit.jupiter.api.Test;

import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class LineBudgetTest {
    private static final long SECOND = TimeUnit.SECONDS.toNanos(1);

    @Test
    void aBurstIsLoggedThenTheRate() {
        LineBudget budget = new LineBudget(3, 2, 10 * SECOND, 0);
        for (int i = 0; i < 3; i++) {
            assertTrue(budget.take(0).log());
        }
        assertFalse(budget.take(0).log());
        assertFalse(budget.take(SECOND / 4).log(), "half a line's worth of time");
        LineBudget.Verdict next = budget.take(SECOND / 2);
        assertTrue(next.log(), "one line's worth of time at 2 lines a second");
        assertEquals(0, next.droppedToReport(), "not yet reported: reports come once a period");
        assertFalse(budget.take(SECOND / 2).log());
        assertEquals(3, budget.take(10 * SECOND).droppedToReport(), "every line left out is reported once due");
        assertEquals(0, budget.drainDropped(10 * SECOND));
    }

    @Test
    void aFloodIsCountedAndReportedPeriodically() {
        LineBudget budget = new LineBudget(1, 1, 10 * SECOND, 0);
        assertTrue(budget.take(0).log());
        long logged = 0;
        long reported = 0;
        int reports = 0;
        long now = 0;
        for (int i = 0; i < 100_000; i++) {
            now = i * (SECOND / 1000); // a thousand lines a second for 100 s
            LineBudget.Verdict verdict = budget.take(now);
            logged += verdict.log() ? 1 : 0;
            if (verdict.droppedToReport() > 0) {
                reported += verdict.droppedToReport();
                reports++;
            }
        }
        reported += budget.drainDropped(now);
        assertTrue(logged >= 99 && logged <= 101, "about one line a second: " + logged);
        assertEquals(100_000 - logged, reported, "every line left out is counted once");
        assertTrue(reports >= 9 && reports <= 10, "reported every 10 s: " + reports);
    }

    @Test
    void aQuietSpellRefillsTheBurstButNoMore() {
        LineBudget budget = new LineBudget(5, 100, SECOND, 0);
        for (int i = 0; i < 5; i++) {
            budget.take(0);
        }
        long later = 3600 * SECOND;
        int logged = 0;
        for (int i = 0; i < 10; i++) {
            logged += budget.take(later).log() ? 1 : 0;
        }
        assertEquals(5, logged);
    }

    @Test
    void badSettingsAreRefusedByName() {
        assertTrue(assertThrows(IllegalArgumentException.class, () -> new LineBudget(0, 1, 0, 0)).getMessage()
                .contains("burst must be at least 1, was 0"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> new LineBudget(1, Double.NaN, 0, 0))
                .getMessage().contains("linesPerSecond"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> new LineBudget(1, 1, -1, 0)).getMessage()
                .contains("reportEveryNanos must be 0 or more, was -1"));
    }
}
