package dev.procpool.core.internal.engine;

import org.junit.jupiter.api.Test;
import org.slf4j.Marker;
import org.slf4j.event.Level;
import org.slf4j.helpers.AbstractLogger;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class WorkerOutputTest {
    private final AtomicLong now = new AtomicLong();
    private final CapturingLogger log = new CapturingLogger(Level.INFO);
    private final WorkerOutput.Budgets output = new WorkerOutput.Budgets(now::get, log);

    @Test
    void controlCharactersInAWorkerLineAreEscaped() {
        output.log("pool", "w-1", "t-1", "INFO", "done\r\n12:00:00 [main] ERROR forged\u001b[2J\u0000");

        assertEquals(List.of("INFO [w-1 t-1] done\\r\\n12:00:00 [main] ERROR forged\\x1b[2J\\x00"), log.lines);
    }

    @Test
    void theLevelOfALogFrameIsKept() {
        output.log("pool", "w-1", null, "warning", "careful");
        output.log("pool", "w-1", null, "error", "bad");
        output.log("pool", "w-1", null, "debug", "not shown at INFO");

        assertEquals(List.of("WARN [w-1] careful", "ERROR [w-1] bad"), log.lines);
    }

    @Test
    void aFloodingWorkerIsCutToItsBudgetAndTheRestCounted() {
        int flood = 100_000;
        for (int i = 0; i < flood; i++) {
            now.set(i * TimeUnit.MICROSECONDS.toNanos(20)); // 50,000 lines a second for 2 s
            output.log("pool", "w-1", null, "INFO", "line " + i);
        }
        output.log("pool", "w-2", null, "INFO", "another worker has its own budget");
        output.workerGone("pool", "w-1");

        long logged = log.lines.stream().filter(l -> l.startsWith("INFO [w-1] line ")).count();
        long bound = WorkerOutput.BURST_LINES + 2L * WorkerOutput.LINES_PER_SECOND + 1;
        assertTrue(logged <= bound && logged >= bound - 2, "logged " + logged + ", bound " + bound);
        long dropped = log.lines.stream().filter(l -> l.startsWith("WARN [w-1] dropped "))
                .mapToLong(l -> Long.parseLong(l.split(" ")[3])).sum();
        assertEquals(flood - logged, dropped, "every line left out is counted: " + log.lines.stream()
                .filter(l -> l.startsWith("WARN")).toList());
        assertTrue(log.lines.contains("INFO [w-2] another worker has its own budget"));
    }

    @Test
    void linesNobodySeesSpendNoBudget() {
        CapturingLogger quiet = new CapturingLogger(Level.WARN);
        WorkerOutput.Budgets budgets = new WorkerOutput.Budgets(now::get, quiet);
        for (int i = 0; i < 10 * WorkerOutput.BURST_LINES; i++) {
            budgets.log("pool", "w-1", null, "INFO", "chatter");
        }
        budgets.log("pool", "w-1", null, "ERROR", "the line that matters");

        assertEquals(List.of("ERROR [w-1] the line that matters"), quiet.lines);
    }

    /** Keeps what is logged as "LEVEL message", with the arguments put in. */
    static final class CapturingLogger extends AbstractLogger {
        final List<String> lines = new ArrayList<>();
        private final Level threshold;

        CapturingLogger(Level threshold) {
            this.threshold = threshold;
            this.name = "capture";
        }

        private boolean on(Level level) {
            return level.toInt() >= threshold.toInt();
        }

        @Override public boolean isTraceEnabled() { return on(Level.TRACE); }
        @Override public boolean isTraceEnabled(Marker marker) { return on(Level.TRACE); }
        @Override public boolean isDebugEnabled() { return on(Level.DEBUG); }
        @Override public boolean isDebugEnabled(Marker marker) { return on(Level.DEBUG); }
        @Override public boolean isInfoEnabled() { return on(Level.INFO); }
        @Override public boolean isInfoEnabled(Marker marker) { return on(Level.INFO); }
        @Override public boolean isWarnEnabled() { return on(Level.WARN); }
        @Override public boolean isWarnEnabled(Marker marker) { return on(Level.WARN); }
        @Override public boolean isErrorEnabled() { return on(Level.ERROR); }
        @Override public boolean isErrorEnabled(Marker marker) { return on(Level.ERROR); }

        @Override
        protected String getFullyQualifiedCallerName() {
            return null;
        }

        @Override
        protected synchronized void handleNormalizedLoggingCall(Level level, Marker marker, String pattern,
                                                                Object[] arguments, Throwable thrown) {
            lines.add(level + " " + org.slf4j.helpers.MessageFormatter.basicArrayFormat(pattern, arguments));
        }
    }
}
