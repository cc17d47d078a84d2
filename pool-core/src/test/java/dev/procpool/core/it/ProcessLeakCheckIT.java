package dev.procpool.core.it;

import dev.procpool.core.internal.process.ProcFs;
import dev.procpool.core.internal.process.ProcessTree;
import dev.procpool.core.testing.ProcessLeakCheck;
import dev.procpool.core.testing.TestPools;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** The check for processes left behind sees an orphan, which a look at the test JVM's descendants cannot. */
class ProcessLeakCheckIT {

    @BeforeEach
    void linuxOnly() {
        assumeTrue(ProcFs.available(), "Linux /proc");
    }

    /** Starts a shell that starts {@code command} in the background and returns its pid; the shell then exits. */
    private static long orphan(String command, String shellTail, String marker) throws IOException {
        ProcessBuilder builder = new ProcessBuilder("sh", "-c",
                command + " </dev/null >/dev/null 2>&1 & echo $!" + shellTail);
        if (marker != null) {
            builder.environment().put(ProcessTree.MARKER_VARIABLE, marker);
        }
        Process shell = builder.start();
        long pid = Long.parseLong(new BufferedReader(new InputStreamReader(shell.getInputStream(),
                StandardCharsets.UTF_8)).readLine().trim());
        try {
            assertTrue(shell.waitFor() == 0);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        assertTrue(TestPools.alive(pid), "the orphan runs");
        assertFalse(ProcessHandle.current().descendants().anyMatch(h -> h.pid() == pid),
                "an orphan is no descendant of the test JVM: the old check could not see it");
        return pid;
    }

    @Test
    void anOrphanThatOnceDescendedFromTheTestJvmIsFound() throws IOException {
        ProcessLeakCheck check = ProcessLeakCheck.start();
        // no marker: found only because it was recorded while its shell (and so the JVM) was its ancestor
        long pid = orphan("env -i sleep 60", "; sleep 1", null);

        AssertionError leak = assertThrows(AssertionError.class, () -> check.assertNoneLeft(Duration.ofMillis(300)));

        assertTrue(leak.getMessage().contains(pid + " (descendant of the test JVM"), leak.getMessage());
        TestPools.assertAllDead(List.of(pid), Duration.ofSeconds(5)); // the check cleans up what it reports
    }

    @Test
    void aMarkedOrphanIsFoundThoughItWasNeverSeenAlive() throws IOException {
        long pid = orphan("sleep 60", "", ProcessTree.hostMarkerPrefix() + "test");
        ProcessLeakCheck check = ProcessLeakCheck.start(); // started after the orphan lost its parent

        AssertionError leak = assertThrows(AssertionError.class, () -> check.assertNoneLeft(Duration.ofMillis(300)));

        assertTrue(leak.getMessage().contains(pid + " (marked as part of a worker's tree"), leak.getMessage());
        TestPools.assertAllDead(List.of(pid), Duration.ofSeconds(5));
    }

    @Test
    void aMarkOfAnotherHostIsNotThisHostsLeak() throws IOException {
        long pid = orphan("sleep 60", "", "1-0-1");
        try {
            ProcessLeakCheck.start().assertNoneLeft(Duration.ofSeconds(5));
        } finally {
            ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly);
        }
    }

    @Test
    void nothingIsReportedWhenEverythingEnded() throws Exception {
        ProcessLeakCheck check = ProcessLeakCheck.start();
        new ProcessBuilder("sh", "-c", "sleep 0.3").start().waitFor();

        check.assertNoneLeft(Duration.ofSeconds(5));
    }
}
