package dev.procpool.core.internal.process;

import org.junit.jupiter.api.Test;

import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

class ProcStatTest {
    /** Fields 3 to 52 of a real line, after the name. */
    private static final String AFTER_NAME = " S 1 4321 4300 0 -1 4194560 2093 0 0 0 3 1 0 0 20 0 1 0 987654 "
            + "13795328 1025 18446744073709551615 1 1 0 0 0 0 0 4096 0 0 0 0 17 1 0 0 0 0 0 0 0 0 0 0 0 0 0";

    @Test
    void readsTheFieldsThePoolUses() {
        ProcStat stat = ProcStat.parse("1234 (python3)" + AFTER_NAME);

        assertEquals(1234, stat.pid());
        assertEquals("python3", stat.name());
        assertEquals('S', stat.state());
        assertEquals(1, stat.parentPid());
        assertEquals(4321, stat.processGroup());
        assertEquals(4300, stat.session());
        assertEquals(987654, stat.startTicks());
        assertFalse(stat.isStopped());
        assertFalse(stat.isZombie());
    }

    @Test
    void aNameWithSpacesAndParenthesesEndsAtTheLastParenthesis() {
        ProcStat stat = ProcStat.parse("77 (a) b (c)) T" + AFTER_NAME.substring(2));

        assertEquals(77, stat.pid());
        assertEquals("a) b (c)", stat.name());
        assertEquals('T', stat.state());
        assertEquals(987654, stat.startTicks());
        assertTrue(stat.isStopped());
    }

    @Test
    void aNameThatLooksLikeFieldsIsNotReadAsFields() {
        ProcStat stat = ProcStat.parse("8 ( Z 9 9 9 )" + AFTER_NAME.replace(" S ", " Z "));

        assertEquals(" Z 9 9 9 ", stat.name());
        assertEquals('Z', stat.state());
        assertEquals(1, stat.parentPid());
        assertTrue(stat.isZombie());
    }

    @Test
    void aTracingStopCountsAsStopped() {
        assertTrue(ProcStat.parse("5 (gdb target)" + AFTER_NAME.replace(" S ", " t ")).isStopped());
    }

    @Test
    void aLineThatIsNotAStatLineIsRefusedWithTheLine() {
        for (String bad : new String[] {"", "1234 python3 S 1", "1234 (x) S 1 2 3", "x (y)" + AFTER_NAME,
                "1 (x) SS 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19", "1 (x)" + AFTER_NAME.replace("987654", "9e3")}) {
            IllegalArgumentException error = assertThrows(IllegalArgumentException.class, () -> ProcStat.parse(bad),
                    bad);
            assertTrue(error.getMessage().contains("/proc/<pid>/stat"), error.getMessage());
            assertTrue(error.getMessage().contains(bad.strip().substring(0, Math.min(bad.strip().length(), 20))),
                    error.getMessage());
        }
    }

    @Test
    void readsThisProcessFromProc() {
        assumeTrue(ProcFs.available(), "Linux /proc");
        long self = ProcessHandle.current().pid();
        Optional<ProcStat> stat = ProcStat.read(self);

        assertTrue(stat.isPresent());
        assertEquals(self, stat.get().pid());
        assertEquals(ProcessHandle.current().parent().orElseThrow().pid(), stat.get().parentPid());
        assertTrue(stat.get().startTicks() > 0);
        assertEquals(Optional.empty(), ProcStat.read(Long.MAX_VALUE));
    }
}
