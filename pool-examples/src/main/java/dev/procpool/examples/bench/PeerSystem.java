package dev.procpool.examples.bench;

import java.util.List;
import java.util.Map;

/** The systems of the peer workloads, as the tables and the JSON name them. */
final class PeerSystem {
    /** procpool through its public API with its default settings. */
    static final String PROCPOOL = "procpool";
    /** The minimal JSON-lines pool of issue 15 ({@link SketchPool}). */
    static final String SKETCH = "sketch";
    /** jest-worker on Node.js, child processes. */
    static final String JEST = "jest-worker";
    /** Python's {@code multiprocessing.Pool}. */
    static final String PYTHON = "python";
    /** W1's floor: a bare JVM echoing 100-byte frames over a pipe, no JSON. */
    static final String RAW_PIPE = "raw-pipe";
    /** W4's floor: a bare JVM's first raw-pipe reply. */
    static final String BARE_JVM = "bare-jvm";

    /** Columns in table order. */
    static final List<String> COLUMNS = List.of(PROCPOOL, SKETCH, JEST, PYTHON, RAW_PIPE, BARE_JVM);

    private static final Map<String, String> LABELS = Map.of(
            PROCPOOL, "procpool (defaults)",
            SKETCH, "sketch (Java JSON lines)",
            JEST, "jest-worker (Node)",
            PYTHON, "Python mp.Pool",
            RAW_PIPE, "raw pipe (floor)",
            BARE_JVM, "bare JVM (floor)");

    private PeerSystem() {
    }

    static String label(String system) {
        return LABELS.getOrDefault(system, system);
    }

    /** Whether a system runs out of this JVM, through a driver program. */
    static boolean external(String system) {
        return system.equals(JEST) || system.equals(PYTHON);
    }
}
