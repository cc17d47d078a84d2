package dev.procpool.core.it;

import dev.procpool.core.testing.FloodHostMain;
import dev.procpool.core.testing.ProcessLeakCheck;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** What a worker writes reaches the host's log escaped, and a worker flooding its stderr costs a bounded log. */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class WorkerLogIT {
    private static final Pattern DROPPED = Pattern.compile("\\[w-1] dropped (\\d+) lines of this worker");
    private final ProcessLeakCheck leaks = ProcessLeakCheck.start();

    @AfterEach
    void nothingLeftBehind() {
        leaks.assertNoneLeft(Duration.ofSeconds(10));
    }

    @Test
    void aWorkerWritingTenMegabytesASecondToStderrGetsABoundedEscapedLogWithADropCount() throws Exception {
        long seconds = 3;
        Process host = FloodHostMain.start(10, seconds);
        try {
            CompletableFuture<byte[]> log = CompletableFuture.supplyAsync(() -> readAll(host.getErrorStream()));
            String out = new String(host.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(host.waitFor(60, TimeUnit.SECONDS));
            byte[] logBytes = log.get(10, TimeUnit.SECONDS);
            String text = new String(logBytes, StandardCharsets.UTF_8);
            assertEquals(0, host.exitValue(), out + text);

            Matcher flood = Pattern.compile("FLOOD (\\d+) (\\d+) ([0-9.]+)").matcher(out);
            assertTrue(flood.find(), out);
            long floodBytes = Long.parseLong(flood.group(1));
            long floodLines = Long.parseLong(flood.group(2));
            assertTrue(floodBytes >= 5_000_000, "the worker flooded: " + floodBytes + " bytes");

            List<String> workerLines = text.lines().filter(l -> l.contains(" dev.procpool.worker - [w-1")).toList();
            long logged = workerLines.stream().filter(l -> l.contains("flooding")).count();
            long dropped = 0;
            Matcher counts = DROPPED.matcher(text);
            while (counts.find()) {
                dropped += Long.parseLong(counts.group(1));
            }
            // the budget: a burst of 1000, then 100 lines a second while the task and the log lines last
            assertTrue(logged <= 1000 + 100 * (seconds + 5), "logged " + logged + " of " + floodLines + " lines");
            assertTrue(dropped > 0 && dropped <= floodLines - logged,
                    "dropped " + dropped + " counted, of " + (floodLines - logged) + " left out");
            assertTrue(logBytes.length < 2_000_000, "host log of " + logBytes.length + " bytes for a flood of "
                    + floodBytes);

            for (byte raw : new byte[] {0x1b, 0x00, '\r'}) {
                assertFalse(new String(logBytes, StandardCharsets.ISO_8859_1).indexOf(raw) >= 0,
                        "a raw control byte " + raw + " reached the host's log");
            }
            assertTrue(workerLines.stream().anyMatch(l -> l.endsWith(
                    "\\x1b[31mred\\x1b[0m flooding\\r12:00:00.000 [main] ERROR forged\\x00")), text.substring(0,
                    Math.min(2000, text.length())));
            assertTrue(text.contains("not a frame\\x1b[2J\\r12:00:00.000 [main] ERROR forged too"),
                    "the line that is not a frame is logged escaped");
            System.out.printf("flood: %d bytes, %d lines in %s s; host log %d bytes, %d worker lines logged, "
                    + "%d counted as dropped%n", floodBytes, floodLines, flood.group(3), logBytes.length, logged,
                    dropped);
        } finally {
            host.destroyForcibly();
        }
    }

    private static byte[] readAll(java.io.InputStream in) {
        try {
            ByteArrayOutputStream all = new ByteArrayOutputStream();
            in.transferTo(all);
            return all.toByteArray();
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
