package dev.procpool.core.internal.worker;

import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.concurrent.Semaphore;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ReaderHandOffTest {
    /** The reading permit, held by the test as the thread that runs the task. */
    private final Semaphore reader = new Semaphore(0);
    private final java.util.concurrent.atomic.AtomicInteger handOvers = new java.util.concurrent.atomic.AtomicInteger();
    private final ReaderHandOff handOff = new ReaderHandOff(reader, handOvers::incrementAndGet);

    @Test
    void aTaskThatEndsInTimeKeepsTheReading() {
        int kept = 0;
        for (int i = 0; i < 1000; i++) {
            handOff.lend();
            if (handOff.reclaim()) {
                kept++;
            } else {
                // the watchdog may run late on a loaded machine; then it handed the permit over exactly once
                assertTrue(reader.tryAcquire(), "a lend that was not reclaimed released the permit");
            }
            assertEquals(0, reader.availablePermits(), "the permit is released at most once per lend");
        }
        assertTrue(kept > 900, "short tasks keep the reading: " + kept + " of 1000");
    }

    @Test
    void aLongTaskHandsTheReadingOverOnceAndTheRunnerKnows() {
        long start = System.nanoTime();
        handOff.lend();
        await().atMost(Duration.ofSeconds(5)).until(() -> reader.availablePermits() == 1);
        assertTrue(System.nanoTime() - start >= ReaderHandOff.DELAY_NANOS, "not before the delay");
        assertFalse(handOff.reclaim(), "the runner must not read on: another thread has the permit");
        assertEquals(1, reader.availablePermits());
        assertEquals(1, handOvers.get(), "the hand-over callback ran once, before the permit went");
    }

    @Test
    void anIdleWatchdogSleepsAndWakesForTheNextTask() {
        await().atMost(Duration.ofSeconds(5)).until(handOff::isSleeping);
        handOff.lend();
        await().atMost(Duration.ofSeconds(5)).until(() -> reader.availablePermits() == 1);
        assertFalse(handOff.reclaim());
    }

    @Test
    void anotherThreadCanTakeTheReadingOverFromARunningTaskAndNobodyReleasesThePermit() {
        handOff.lend();
        assertTrue(handOff.takeOver(), "the reading is lent: it can be taken");
        assertFalse(handOff.reclaim(), "the runner must not read on: the taker has the permit");
        assertFalse(handOff.takeOver(), "taken once");
        // the watchdog must not release a permit that was passed on without the semaphore
        await().during(Duration.ofMillis(100)).atMost(Duration.ofSeconds(5))
                .until(() -> reader.availablePermits() == 0);
        assertEquals(0, handOvers.get());
    }

    @Test
    void nothingCanBeTakenOverWhenNothingIsLent() {
        assertFalse(handOff.takeOver());
        handOff.lend();
        assertTrue(handOff.reclaim());
        assertFalse(handOff.takeOver());
    }
}
