package dev.procpool.core.internal.engine;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

class TaskTimesTest {
    @Test
    void anUnknownTypeOrOneWithoutTimesHasNone() {
        TaskTimes times = new TaskTimes();
        assertEquals(-1, times.nanos("never"));
        times.record("silent", -1);
        assertEquals(-1, times.nanos("silent"));
    }

    @Test
    void aLongerTimeIsTakenAtOnceAShorterOneAnEighthOfTheWay() {
        TaskTimes times = new TaskTimes();
        times.record("t", 8_000);
        times.record("t", 80_000);
        assertEquals(80_000, times.nanos("t"));
        times.record("t", 0);
        assertEquals(70_000, times.nanos("t"));
    }

    @Test
    void remembersAtMostMaxTypesForgettingTheLeastRecentlyAnswered() {
        TaskTimes times = new TaskTimes();
        for (int i = 0; i <= TaskTimes.MAX_TYPES; i++) {
            times.record("type-" + i, i);
            if (i == 10) {
                times.record("type-0", 0); // answered again: no longer the least recent
            }
        }
        assertEquals(0, times.nanos("type-0"));
        assertEquals(-1, times.nanos("type-1"));
        assertEquals(TaskTimes.MAX_TYPES, times.nanos("type-" + TaskTimes.MAX_TYPES));
    }
}
