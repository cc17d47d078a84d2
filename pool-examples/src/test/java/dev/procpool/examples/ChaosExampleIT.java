package dev.procpool.examples;

import dev.procpool.core.testing.ProcessLeakCheck;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Runs {@link ChaosExample} with real worker JVMs and real faults. */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class ChaosExampleIT {
    /** Fast-starting worker JVM flags from the build (see it.workerJvmOptions in the parent pom). */
    private static final String JVM_OPTIONS = System.getProperty("procpool.it.workerJvmOptions", "");

    @Test
    void everyFaultEndsAsExpectedWithForensicsAndNoWorkerIsLeft() throws Exception {
        ProcessLeakCheck leaks = ProcessLeakCheck.start();
        ByteArrayOutputStream console = new ByteArrayOutputStream();
        int status = ChaosExample.run(new String[] {"--jvm-options", JVM_OPTIONS},
                new PrintStream(console, true, StandardCharsets.UTF_8));
        String printed = console.toString(StandardCharsets.UTF_8);
        assertEquals(0, status, printed);

        // Each fault's outcome.
        assertOutcome(printed, "crash", "DEAD_LETTERED", "WORKER_CRASHED after 2 attempt");
        assertOutcome(printed, "kill", "DEAD_LETTERED", "WORKER_CRASHED after 2 attempt");
        assertOutcome(printed, "busy-loop", "FAILED", "TIMEOUT after 1 attempt"); // a timeout is not retried
        assertOutcome(printed, "silent-hang", "DEAD_LETTERED", "HUNG after 2 attempt");
        assertOutcome(printed, "oom", "DEAD_LETTERED", "OUT_OF_MEMORY after 2 attempt");
        assertOutcome(printed, "garbage", "SUCCEEDED", "{");
        assertContains(printed, "24 ordinary tasks: 24 succeeded");

        // The narration, from the listener.
        assertContains(printed, "a zombie, stopping it");
        assertContains(printed, "will retry");
        assertContains(printed, "replacing w-");
        assertContains(printed, "task crash: dead-lettered after 2 attempt(s) (WORKER_CRASHED)");
        assertContains(printed, "All tasks ended; 3 healthy workers");

        // Forensics of every failure: each attempt with its worker, pid, reason, exit status, duration and output;
        // the dead-letter queue holds the tasks the pool gave up retrying.
        assertContains(printed, "Dead-letter queue: 4 entries");
        assertMatches(printed, "crash: WORKER_CRASHED after 2 attempts, payload \\{.*\"fault\":\"crash\".*}");
        assertMatches(printed, "attempt 2 on w-\\d+ \\(pid \\d+\\): WORKER_CRASHED, exit code 3, \\d+ ms, peak RSS ");
        assertMatches(printed, "attempt 1 on w-\\d+ \\(pid \\d+\\): WORKER_CRASHED, signal 9, ");
        assertMatches(printed, "attempt 1 on w-\\d+ \\(pid \\d+\\): TIMEOUT, ");
        assertMatches(printed, "attempt 2 on w-\\d+ \\(pid \\d+\\): HUNG, ");
        assertMatches(printed, "why: .*no heartbeat for ");
        assertMatches(printed, "attempt \\d on w-\\d+ \\(pid \\d+\\): OUT_OF_MEMORY, ");
        assertMatches(printed, "\\| .*java\\.lang\\.OutOfMemoryError");
        // the thread dump taken before a hung worker was killed shows where its handler was
        assertMatches(printed, "\\| .*at dev\\.procpool\\.core\\.testing\\.FaultInjectionHandler\\.handle\\(");

        // The pool's own metrics at the end.
        assertMatches(printed, "tasks: 30 submitted, 25 succeeded, 1 failed, 4 dead-lettered, \\d+ retries");
        assertMatches(printed, "workers: \\d+ started, \\d+ restarts, \\d+ zombies detected");

        leaks.assertNoneLeft(Duration.ofSeconds(15));
    }

    private static void assertOutcome(String printed, String task, String state, String outcome) {
        assertMatches(printed, "(?m)^  " + Pattern.quote(task) + " +" + state + " +" + Pattern.quote(outcome));
    }

    private static void assertContains(String printed, String expected) {
        assertTrue(printed.contains(expected), () -> "\"" + expected + "\" missing from:\n" + printed);
    }

    private static void assertMatches(String printed, String regex) {
        assertTrue(Pattern.compile(regex).matcher(printed).find(), () -> "/" + regex + "/ missing from:\n" + printed);
    }
}
