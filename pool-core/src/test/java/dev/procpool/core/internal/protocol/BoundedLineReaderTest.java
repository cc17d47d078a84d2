package dev.procpool.core.internal.protocol;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

class BoundedLineReaderTest {

    /** Hands out at most 1 to 3 bytes per read, chosen by a seeded random, like a slow pipe. */
    static final class TricklingInputStream extends InputStream {
        private final byte[] data;
        private final Random random;
        private int pos;

        TricklingInputStream(byte[] data, long seed) {
            this.data = data;
            this.random = new Random(seed);
        }

        @Override
        public int read() {
            return pos < data.length ? data[pos++] & 0xff : -1;
        }

        @Override
        public int read(byte[] b, int off, int len) {
            if (len == 0) {
                return 0;
            }
            if (pos >= data.length) {
                return -1;
            }
            int n = Math.min(Math.min(len, 1 + random.nextInt(3)), data.length - pos);
            System.arraycopy(data, pos, b, off, n);
            pos += n;
            return n;
        }
    }

    /** An endless-looking stream of one byte value, generated on demand; counts what was read. */
    static final class LazyStream extends InputStream {
        private final long length;
        private final byte value;
        long delivered;

        LazyStream(long length, byte value) {
            this.length = length;
            this.value = value;
        }

        @Override
        public int read() {
            if (delivered >= length) {
                return -1;
            }
            delivered++;
            return value & 0xff;
        }

        @Override
        public int read(byte[] b, int off, int len) {
            if (len == 0) {
                return 0;
            }
            if (delivered >= length) {
                return -1;
            }
            int n = (int) Math.min(len, length - delivered);
            Arrays.fill(b, off, off + n, value);
            delivered += n;
            return n;
        }
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static String string(byte[] b) {
        return new String(b, StandardCharsets.UTF_8);
    }

    private static List<String> readAll(BoundedLineReader reader) throws IOException {
        List<String> lines = new ArrayList<>();
        byte[] line;
        while ((line = reader.readLine()) != null) {
            lines.add(string(line));
        }
        return lines;
    }

    private static BoundedLineReader reader(String content, int limit) {
        return new BoundedLineReader(new ByteArrayInputStream(bytes(content)), limit);
    }

    @Test
    void readsLinesWithoutTheirTerminator() throws IOException {
        BoundedLineReader reader = reader("first\nsecond\n", 1024);
        assertEquals("first", string(reader.readLine()));
        assertEquals("second", string(reader.readLine()));
        assertNull(reader.readLine());
        assertNull(reader.readLine(), "end of stream stays end of stream");
    }

    @Test
    void emptyStreamHasNoLines() throws IOException {
        assertNull(reader("", 1024).readLine());
    }

    @Test
    void lastLineWithoutNewlineIsALine() throws IOException {
        assertEquals(List.of("a", "tail"), readAll(reader("a\ntail", 1024)));
    }

    @Test
    void emptyLinesAreReturnedAsEmpty() throws IOException {
        assertEquals(List.of("", "a", "", "", "b"), readAll(reader("\na\n\n\nb\n", 1024)));
        assertEquals(List.of(""), readAll(reader("\n", 1024)));
    }

    @Test
    void carriageReturnBeforeNewlineIsDropped() throws IOException {
        assertEquals(List.of("a", "b", "", "c"), readAll(reader("a\r\nb\n\r\nc\r\n", 1024)));
    }

    @Test
    void carriageReturnElsewhereIsKept() throws IOException {
        assertEquals(List.of("a\rb", "\rc"), readAll(reader("a\rb\n\rc\n", 1024)));
    }

    @Test
    void onlyOneCarriageReturnIsDropped() throws IOException {
        assertEquals(List.of("a\r"), readAll(reader("a\r\r\n", 1024)));
    }

    @Test
    void bytesArePassedThroughUnchanged() throws IOException {
        byte[] data = {'{', (byte) 0xc3, (byte) 0xa9, 0, (byte) 0xff, '}', '\n'};
        byte[] line = new BoundedLineReader(new ByteArrayInputStream(data), 1024).readLine();
        assertArrayEquals(Arrays.copyOf(data, 6), line);
    }

    @Test
    void linesSplitAcrossTinyReadsAreReassembled() throws IOException {
        StringBuilder content = new StringBuilder();
        List<String> expected = new ArrayList<>();
        Random random = new Random(11);
        for (int i = 0; i < 500; i++) {
            String line = "{\"v\":1,\"type\":\"result\",\"id\":\"t-" + i + "\",\"pad\":\"" + "x".repeat(random.nextInt(40))
                    + "\"}";
            if (i % 17 == 0) {
                line = "";
            }
            expected.add(line);
            content.append(line).append(i % 3 == 0 ? "\r\n" : "\n");
        }
        content.append("unterminated");
        expected.add("unterminated");

        for (long seed = 0; seed < 5; seed++) {
            BoundedLineReader reader = new BoundedLineReader(new TricklingInputStream(bytes(content.toString()), seed),
                    1024);
            assertEquals(expected, readAll(reader), "seed " + seed);
        }
    }

    @Test
    void carriageReturnAndNewlineInSeparateReads() throws IOException {
        // One byte per read forces "\r" and "\n" into different chunks.
        InputStream oneByteAtATime = new InputStream() {
            private final byte[] data = bytes("ab\r\ncd\r\n");
            private int pos;

            @Override
            public int read() {
                return pos < data.length ? data[pos++] : -1;
            }

            @Override
            public int read(byte[] b, int off, int len) {
                int c = read();
                if (c < 0) {
                    return -1;
                }
                b[off] = (byte) c;
                return 1;
            }
        };
        assertEquals(List.of("ab", "cd"), readAll(new BoundedLineReader(oneByteAtATime, 1024)));
    }

    @Test
    void lineLongerThanTheInitialBufferIsReadWhole() throws IOException {
        String longLine = "z".repeat(50_000);
        assertEquals(List.of(longLine, "next"), readAll(reader(longLine + "\nnext\n", 64 * 1024)));
    }

    @Test
    void lineLongerThanOneChunkAcrossManyChunks() throws IOException {
        // The read buffer is at most 64 KiB; this line spans several of them.
        String longLine = "q".repeat(200_000);
        assertEquals(List.of(longLine, "after"), readAll(reader(longLine + "\r\nafter\n", 256 * 1024)));
    }

    @Test
    void lineExactlyAtTheLimitPasses() throws IOException {
        int limit = 1024;
        String atLimit = "a".repeat(limit);
        assertEquals(List.of(atLimit, "b"), readAll(reader(atLimit + "\nb\n", limit)));
        assertEquals(List.of(atLimit), readAll(reader(atLimit, limit)), "unterminated last line");
        assertEquals(List.of(atLimit), readAll(reader(atLimit + "\r\n", limit)), "the \\r is not counted");
    }

    @Test
    void lineExactlyAtTheLimitPassesWithTinyReads() throws IOException {
        int limit = 1024;
        String atLimit = "a".repeat(limit);
        BoundedLineReader reader = new BoundedLineReader(
                new TricklingInputStream(bytes(atLimit + "\r\n" + atLimit + "\n"), 1), limit);
        assertEquals(List.of(atLimit, atLimit), readAll(reader));
    }

    @Test
    void oneByteOverTheLimitThrows() {
        int limit = 1024;
        String over = "a".repeat(limit + 1);
        FrameTooLargeException e = assertThrows(FrameTooLargeException.class,
                () -> reader(over + "\n", limit).readLine());
        assertTrue(e.getMessage().contains(String.valueOf(limit)), e.getMessage());
    }

    @Test
    void oneByteOverTheLimitThrowsWithoutNewline() {
        int limit = 1024;
        assertThrows(FrameTooLargeException.class, () -> reader("a".repeat(limit + 1), limit).readLine());
    }

    @Test
    void oneByteOverTheLimitThrowsEvenIfItIsACarriageReturnNotBeforeNewline() {
        int limit = 1024;
        // limit bytes, then '\r', then more content: the '\r' is part of the line, so the line is too long.
        assertThrows(FrameTooLargeException.class, () -> reader("a".repeat(limit) + "\rb\n", limit).readLine());
        assertThrows(FrameTooLargeException.class, () -> reader("a".repeat(limit) + "\r\r\n", limit).readLine());
    }

    @Test
    void oneByteOverTheLimitThrowsWithTinyReads() {
        int limit = 1024;
        BoundedLineReader reader = new BoundedLineReader(
                new TricklingInputStream(bytes("a".repeat(limit + 1) + "\n"), 5), limit);
        assertThrows(FrameTooLargeException.class, reader::readLine);
    }

    @Test
    void linesBeforeAnOversizedLineAreStillReturned() throws IOException {
        int limit = 1024;
        BoundedLineReader reader = reader("ok\n" + "a".repeat(5000) + "\n", limit);
        assertEquals("ok", string(reader.readLine()));
        assertThrows(FrameTooLargeException.class, reader::readLine);
    }

    @Test
    void limitIsExactAboveTheInitialBufferAndChunkSizes() throws IOException {
        int limit = 100_000; // larger than the 64 KiB chunk
        String atLimit = "m".repeat(limit);
        assertEquals(List.of(atLimit), readAll(reader(atLimit + "\n", limit)));
        assertThrows(FrameTooLargeException.class, () -> reader(atLimit + "m\n", limit).readLine());
    }

    @Test
    @Timeout(10)
    void hugeStreamWithoutNewlineFailsFastWithoutBufferingIt() {
        long hundredMegabytes = 100L * 1024 * 1024;
        LazyStream stream = new LazyStream(hundredMegabytes, (byte) 'x');
        BoundedLineReader reader = new BoundedLineReader(stream, 1024);

        assertThrows(FrameTooLargeException.class, reader::readLine);
        // It gives up right after the limit: at most a couple of 1 KiB chunks are read, not 100 MB.
        assertTrue(stream.delivered <= 4 * 1024, "read " + stream.delivered + " bytes before failing");
    }

    @Test
    @Timeout(10)
    void hugeStreamWithALargeLimitReadsOnlyAboutTheLimit() {
        long hundredMegabytes = 100L * 1024 * 1024;
        int limit = 1 << 20;
        LazyStream stream = new LazyStream(hundredMegabytes, (byte) 'x');
        BoundedLineReader reader = new BoundedLineReader(stream, limit);

        assertThrows(FrameTooLargeException.class, reader::readLine);
        assertTrue(stream.delivered <= limit + 64 * 1024, "read " + stream.delivered + " bytes before failing");
    }

    @Test
    @Timeout(10)
    void allocatesAboutTheLimitNotTheStream() {
        java.lang.management.ThreadMXBean bean = java.lang.management.ManagementFactory.getThreadMXBean();
        assumeTrue(bean instanceof com.sun.management.ThreadMXBean, "needs per-thread allocation counters");
        com.sun.management.ThreadMXBean threads = (com.sun.management.ThreadMXBean) bean;
        assumeTrue(threads.isThreadAllocatedMemorySupported() && threads.isThreadAllocatedMemoryEnabled());

        int limit = 1 << 20;
        LazyStream stream = new LazyStream(100L * 1024 * 1024, (byte) 'x');
        long tid = Thread.currentThread().getId();
        long before = threads.getThreadAllocatedBytes(tid);
        BoundedLineReader reader = new BoundedLineReader(stream, limit);
        assertThrows(FrameTooLargeException.class, reader::readLine);
        long allocated = threads.getThreadAllocatedBytes(tid) - before;

        // The line buffer grows by doubling up to limit + 1, plus one read chunk: about 2 MiB, never 100 MB.
        assertTrue(allocated < 4L * limit, "allocated " + allocated + " bytes for a " + limit + "-byte limit");
    }

    @Test
    void hasLineTellsWhetherAWholeLineIsBufferedWithoutReading() throws IOException {
        byte[] data = "one\ntwo\nthr".getBytes(StandardCharsets.US_ASCII);
        int[] reads = {0};
        InputStream counting = new ByteArrayInputStream(data) {
            @Override
            public synchronized int read(byte[] b, int off, int len) {
                reads[0]++;
                return super.read(b, off, len);
            }
        };
        BoundedLineReader reader = new BoundedLineReader(counting, 100);
        assertEquals(false, reader.hasLine(), "nothing is buffered before the first read");
        assertEquals("one", new String(reader.readLine(), StandardCharsets.US_ASCII));
        assertTrue(reader.hasLine());
        assertEquals("two", new String(reader.readLine(), StandardCharsets.US_ASCII));
        assertEquals(false, reader.hasLine(), "\"thr\" has no terminator yet");
        assertEquals(1, reads[0], "hasLine never reads");
        assertEquals("thr", new String(reader.readLine(), StandardCharsets.US_ASCII));
    }

    @Test
    void nextLineReusesItsBufferAndReportsTheLength() throws IOException {
        BoundedLineReader reader = new BoundedLineReader(new ByteArrayInputStream(
                "first line\r\nx\n\nlast".getBytes(StandardCharsets.US_ASCII)), 100);
        assertEquals(10, reader.nextLine());
        assertEquals("first line", new String(reader.buffer(), 0, 10, StandardCharsets.US_ASCII));
        byte[] buffer = reader.buffer();
        assertEquals(1, reader.nextLine());
        assertEquals('x', reader.buffer()[0]);
        assertTrue(buffer == reader.buffer(), "the same buffer serves every line that fits");
        assertEquals(0, reader.nextLine(), "an empty line");
        assertEquals(4, reader.nextLine(), "a last line without a terminator");
        assertEquals(-1, reader.nextLine());
    }
}
