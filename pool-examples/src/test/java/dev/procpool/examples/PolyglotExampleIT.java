package dev.procpool.examples;

import dev.procpool.core.testing.ProcessLeakCheck;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Runs the polyglot example end to end: real Java, Python and Node.js workers in one pool. */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class PolyglotExampleIT {
    /** Fast-starting worker JVM flags from the build (see it.workerJvmOptions in the parent pom). */
    private static final String JVM_OPTIONS = System.getProperty("procpool.it.workerJvmOptions", "");

    @Test
    void polyglotExampleRoutesEachTaskToItsLanguage() throws Exception {
        ProcessLeakCheck leaks = ProcessLeakCheck.start();
        ByteArrayOutputStream console = new ByteArrayOutputStream();
        int status = PolyglotExample.run(new String[] {"--jvm-options", JVM_OPTIONS},
                new PrintStream(console, true, StandardCharsets.UTF_8));
        String printed = console.toString(StandardCharsets.UTF_8);

        assertEquals(0, status, printed);
        assertTrue(printed.matches("(?s).*word-count\\s+requires java\\s+-> \\{[^\\n]*\"words\":7[^\\n]*"
                + "answered by java .*"), printed);
        assertTrue(printed.contains("\"HELLO FROM PYTHON\""), printed);
        assertTrue(printed.contains("\"HELLO FROM NODE\""), printed);
        assertTrue(printed.matches("(?s).*upper\\s+requires python\\s+-> [^\\n]*answered by python .*"), printed);
        assertTrue(printed.matches("(?s).*upper\\s+requires node\\s+-> [^\\n]*answered by node .*"), printed);
        assertTrue(printed.contains("HANDLER_ERROR, remote ValueError: no luck in python"), printed);
        assertTrue(printed.contains("HANDLER_ERROR, remote Error: no luck in node"), printed);
        assertTrue(printed.contains("rejected at once (NO_CAPABLE_WORKER)"), printed);
        assertTrue(!printed.contains("unexpected"), printed);

        leaks.assertNoneLeft(Duration.ofSeconds(10));
    }
}
