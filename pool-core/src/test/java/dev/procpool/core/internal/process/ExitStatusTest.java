package dev.procpool.core.internal.process;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ExitStatusTest {

    @ParameterizedTest
    @ValueSource(ints = {0, 1, 2, 3, 100, 127, 128, 193, 255, 256, -1})
    void codesThatAreNotSignalDeathsAreExits(int code) {
        ExitStatus status = new ExitStatus(code);
        assertEquals(0, status.signal());
        assertFalse(status.killedBySigkill());
        assertEquals("exit code " + code, status.toString());
    }

    @ParameterizedTest
    @CsvSource({
            "129, 1",
            "130, 2",
            "134, 6",
            "137, 9",
            "139, 11",
            "143, 15",
            "192, 64"})
    void codesAbove128AreSignals(int code, int signal) {
        assertEquals(signal, new ExitStatus(code).signal());
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "130 | killed by signal 2 (SIGINT)",
            "134 | killed by signal 6 (SIGABRT)",
            "137 | killed by signal 9 (SIGKILL)",
            "139 | killed by signal 11 (SIGSEGV)",
            "143 | killed by signal 15 (SIGTERM)",
            "129 | killed by signal 1",
            "138 | killed by signal 10",
            "192 | killed by signal 64"})
    void toStringNamesTheSignal(int code, String text) {
        assertEquals(text, new ExitStatus(code).toString());
    }

    @Test
    void onlySignalNineIsSigkill() {
        assertTrue(new ExitStatus(128 + ExitStatus.SIGKILL).killedBySigkill());
        assertFalse(new ExitStatus(128 + ExitStatus.SIGTERM).killedBySigkill());
        assertFalse(new ExitStatus(ExitStatus.SIGKILL).killedBySigkill(), "exit(9) is not a SIGKILL");
    }

    @Test
    void signalConstants() {
        assertEquals(9, ExitStatus.SIGKILL);
        assertEquals(15, ExitStatus.SIGTERM);
    }

    @Test
    void exitOnOutOfMemoryErrorCodeIsAnExit() {
        // The default worker JVM options exit with code 3 on the first OutOfMemoryError.
        assertEquals("exit code 3", new ExitStatus(3).toString());
    }

    @Test
    void recordKeepsTheCode() {
        assertEquals(137, new ExitStatus(137).code());
        assertEquals(new ExitStatus(137), new ExitStatus(137));
    }
}
