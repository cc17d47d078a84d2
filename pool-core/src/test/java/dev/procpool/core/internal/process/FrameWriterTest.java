package dev.procpool.core.internal.process;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.io.PipedInputStream;
import java.io.PipedOutputStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

@Timeout(20)
class FrameWriterTest {

    private static final Duration WITHIN = Duration.ofSeconds(5);
    private static final int LIMIT = FrameWriter.DIRECT_WRITE_LIMIT;

    /**
     * An output stream that records what it is asked to do and by which thread. Writes of at least
     * {@code holdFrom} bytes wait until {@link #release()}, like a write into a full pipe; writes of at least
     * {@code failFrom} bytes throw.
     */
    static final class RecordingStream extends OutputStream {
        private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        final List<String> events = new CopyOnWriteArrayList<>();
        final List<Thread> writingThreads = new CopyOnWriteArrayList<>();
        final AtomicInteger writeCalls = new AtomicInteger();
        final AtomicInteger closeCalls = new AtomicInteger();
        final CountDownLatch holding = new CountDownLatch(1);
        private final CountDownLatch released = new CountDownLatch(1);
        volatile int holdFrom = Integer.MAX_VALUE;
        volatile int failFrom = Integer.MAX_VALUE;
        volatile boolean closed;

        @Override
        public void write(int b) throws IOException {
            write(new byte[] {(byte) b}, 0, 1);
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            writeCalls.incrementAndGet();
            if (len >= holdFrom) {
                holding.countDown();
                try {
                    if (!released.await(30, TimeUnit.SECONDS)) {
                        throw new IOException("test never released the write");
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new InterruptedIOException();
                }
            }
            if (len >= failFrom) {
                throw new IOException("broken pipe");
            }
            synchronized (bytes) {
                bytes.write(b, off, len);
            }
            writingThreads.add(Thread.currentThread());
            events.add("write " + len);
        }

        @Override
        public void flush() {
            events.add("flush on " + Thread.currentThread().getName());
        }

        @Override
        public void close() {
            closeCalls.incrementAndGet();
            events.add("close");
            closed = true;
        }

        void release() {
            released.countDown();
        }

        void awaitHolding() throws InterruptedException {
            assertTrue(holding.await(WITHIN.toMillis(), TimeUnit.MILLISECONDS), "no write reached the stream");
        }

        byte[] written() {
            synchronized (bytes) {
                return bytes.toByteArray();
            }
        }

        int size() {
            synchronized (bytes) {
                return bytes.size();
            }
        }
    }

    /** Makes daemon threads and remembers them. */
    static final class RecordingThreads implements ThreadFactory {
        final List<Thread> created = new CopyOnWriteArrayList<>();

        @Override
        public Thread newThread(Runnable r) {
            Thread thread = new Thread(r, "test-frame-writer-" + created.size());
            thread.setDaemon(true);
            created.add(thread);
            return thread;
        }
    }

    /** A thread factory for cases that must stay on the calling thread. */
    private static final ThreadFactory NO_THREADS = r -> {
        throw new AssertionError("the writer thread should not be needed");
    };

    private final RecordingStream stream = new RecordingStream();
    private final RecordingThreads threads = new RecordingThreads();
    private final List<IOException> failures = new CopyOnWriteArrayList<>();
    private final List<FrameWriter> writers = new ArrayList<>();

    private FrameWriter writer(OutputStream out, ThreadFactory factory) {
        FrameWriter writer = new FrameWriter(out, factory, failures::add);
        writers.add(writer);
        return writer;
    }

    @AfterEach
    void releaseAndClose() {
        stream.release();
        writers.forEach(FrameWriter::close);
    }

    /** A frame of {@code length} bytes: a letter repeated, then a newline. */
    private static byte[] frame(char letter, int length) {
        byte[] frame = new byte[length];
        Arrays.fill(frame, (byte) letter);
        frame[length - 1] = '\n';
        return frame;
    }

    private static byte[] concat(byte[]... frames) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] frame : frames) {
            out.writeBytes(frame);
        }
        return out.toByteArray();
    }

    // ---------------------------------------------------------------- direct path

    @Test
    void smallFramesAreWrittenOnTheCallingThreadInOrder() {
        FrameWriter writer = writer(stream, NO_THREADS);
        byte[] a = frame('a', 100);
        byte[] b = frame('b', 200);
        byte[] c = frame('c', 300);

        assertEquals(100, writer.send(a));
        assertArrayEquals(a, stream.written(), "written before send returns");
        assertEquals(300, writer.send(b));
        assertEquals(600, writer.send(c));

        assertArrayEquals(concat(a, b, c), stream.written());
        assertTrue(stream.writingThreads.stream().allMatch(t -> t == Thread.currentThread()));
        String flushHere = "flush on " + Thread.currentThread().getName();
        assertEquals(List.of("write 100", flushHere, "write 200", flushHere, "write 300", flushHere), stream.events);
        assertTrue(failures.isEmpty());
    }

    @Test
    void aFrameOfExactlyTheLimitIsWrittenDirectly() {
        FrameWriter writer = writer(stream, NO_THREADS);
        byte[] page = frame('p', LIMIT);
        assertEquals(LIMIT, writer.send(page));
        assertArrayEquals(page, stream.written());
    }

    @Test
    void consumedBytesMakeRoomForMoreDirectWrites() {
        FrameWriter writer = writer(stream, NO_THREADS);
        byte[] first = frame('a', 4000);
        byte[] second = frame('b', 4000);
        byte[] third = frame('c', 96);

        long end = writer.send(first);
        writer.consumedUpTo(end); // the worker answered the first task
        long secondEnd = writer.send(second);
        writer.consumedUpTo(secondEnd);
        writer.consumedUpTo(100); // an older, smaller offset never moves the mark back
        writer.send(third);

        assertArrayEquals(concat(first, second, third), stream.written());
    }

    @Test
    void unconsumedSmallFramesAddUpToTheLimitAndThenQueue() {
        FrameWriter writer = writer(stream, threads);
        byte[] first = frame('a', 4000);
        byte[] second = frame('b', 200); // 4200 bytes not yet known to be read: might not fit in the pipe

        writer.send(first);
        assertTrue(threads.created.isEmpty());
        writer.send(second);

        assertEquals(1, threads.created.size(), "the second frame needs the writer thread");
        await().atMost(WITHIN).until(() -> stream.size() == 4200);
        assertArrayEquals(concat(first, second), stream.written());
        assertSame(Thread.currentThread(), stream.writingThreads.get(0));
        assertSame(threads.created.get(0), stream.writingThreads.get(1));
    }

    @Test
    void anOffsetBeyondWhatWasWrittenCannotMakeRoomThatIsNotThere() {
        // An answer read with a stale offset (from another worker's stream) must not let the next frames skip the
        // writer thread: they could block the caller on a full pipe.
        FrameWriter writer = writer(stream, threads);
        writer.send(frame('a', 4000));
        writer.consumedUpTo(1_000_000); // counts as "all 4000 read", not as room for a million bytes
        writer.send(frame('b', 2 * LIMIT)); // over the limit on its own: it must queue
        assertEquals(1, threads.created.size(), "the big frame went through the writer thread");
        await().atMost(WITHIN).until(() -> stream.size() == 4000 + 2 * LIMIT);
    }

    // ---------------------------------------------------------------- writer thread

    @Test
    void aFrameOverTheLimitGoesThroughTheWriterThread() {
        FrameWriter writer = writer(stream, threads);
        byte[] big = frame('B', LIMIT + 1);

        assertEquals(LIMIT + 1, writer.send(big));

        await().atMost(WITHIN).until(() -> stream.size() == big.length);
        assertArrayEquals(big, stream.written());
        assertEquals(1, threads.created.size());
        assertSame(threads.created.get(0), stream.writingThreads.get(0));
        assertTrue(stream.events.contains("flush on " + threads.created.get(0).getName()));
    }

    @Test
    void laterSmallFramesStayBehindALargeFrameThatIsStillBeingWritten() throws InterruptedException {
        stream.holdFrom = LIMIT + 1;
        FrameWriter writer = writer(stream, threads);
        byte[] big = frame('B', 10_000);
        byte[] small1 = frame('x', 50);
        byte[] small2 = frame('y', 60);

        writer.send(big);
        stream.awaitHolding(); // the writer thread is stuck in write(), as on a full pipe
        writer.send(small1);
        writer.send(small2);

        assertEquals(0, stream.size(), "nothing may overtake the large frame");
        stream.release();
        await().atMost(WITHIN).until(() -> stream.size() == big.length + small1.length + small2.length);
        assertArrayEquals(concat(big, small1, small2), stream.written());
        assertEquals(1, threads.created.size(), "one writer thread serves the whole connection");
        assertTrue(stream.writingThreads.stream().allMatch(t -> t == threads.created.get(0)));
    }

    @Test
    void framesQueuedWhileTheWriterIsBusyAreFlushedTogether() throws InterruptedException {
        stream.holdFrom = LIMIT + 1;
        FrameWriter writer = writer(stream, threads);
        writer.send(frame('B', 5000));
        stream.awaitHolding();
        writer.send(frame('a', 10));
        writer.send(frame('b', 10));
        writer.send(frame('c', 10));
        writer.close();

        stream.release();
        await().atMost(WITHIN).until(() -> stream.closed);
        String flush = "flush on " + threads.created.get(0).getName();
        assertEquals(List.of("write 5000", flush, "write 10", "write 10", "write 10", flush, "close"), stream.events);
    }

    @Test
    void sendReturnsWhileThePipeIsFullAndEveryByteArrivesInOrder() throws IOException {
        PipedInputStream workerStdin = new PipedInputStream(1024);
        PipedOutputStream hostEnd = new PipedOutputStream(workerStdin);
        FrameWriter writer = writer(hostEnd, threads);

        List<byte[]> frames = new ArrayList<>();
        frames.add(frame('B', 20_000)); // twenty times what the pipe holds
        for (int i = 0; i < 30; i++) {
            frames.add(frame((char) ('a' + i % 26), 10 + i));
        }
        long end = 0;
        for (byte[] frame : frames) {
            end = writer.send(frame); // would hang here if a send waited for the pipe
        }
        byte[] expected = concat(frames.toArray(new byte[0][]));
        assertEquals(expected.length, end);

        // Only now does the "worker" start reading.
        byte[] received = workerStdin.readNBytes(expected.length);
        assertArrayEquals(expected, received);

        writer.close();
        assertEquals(-1, workerStdin.read(), "stdin ends once the queued frames are written");
        assertTrue(failures.isEmpty());
    }

    @Test
    void offsetsCountEveryFrameWhicheverPathItTakes() {
        FrameWriter writer = writer(stream, threads);
        assertEquals(10, writer.send(frame('a', 10)));
        assertEquals(10 + 5000, writer.send(frame('b', 5000)));
        assertEquals(10 + 5000 + 20, writer.send(frame('c', 20)));
        writer.close();
        assertEquals(10 + 5000 + 20 + 30, writer.send(frame('d', 30)), "offsets keep counting after close");
    }

    // ---------------------------------------------------------------- close

    @Test
    void closeWithoutAWriterThreadClosesTheStreamAtOnce() {
        FrameWriter writer = writer(stream, NO_THREADS);
        writer.send(frame('a', 10));
        writer.close();
        assertTrue(stream.closed);
        writer.close();
        assertEquals(1, stream.closeCalls.get(), "close is idempotent");
    }

    @Test
    void closeClosesTheStreamOnlyAfterQueuedFramesAreWritten() throws InterruptedException {
        stream.holdFrom = LIMIT + 1;
        FrameWriter writer = writer(stream, threads);
        byte[] big = frame('B', 8000);
        byte[] small = frame('s', 40);
        writer.send(big);
        stream.awaitHolding();
        writer.send(small);

        writer.close(); // must not wait for the stuck write
        assertFalse(stream.closed, "the stream stays open while frames are queued");

        stream.release();
        await().atMost(WITHIN).until(() -> stream.closed);
        assertArrayEquals(concat(big, small), stream.written());
        assertEquals("close", stream.events.get(stream.events.size() - 1));
        assertEquals(1, stream.closeCalls.get());
        await().atMost(WITHIN).until(() -> !threads.created.get(0).isAlive());
    }

    @Test
    void framesSentAfterCloseAreDropped() {
        FrameWriter writer = writer(stream, NO_THREADS);
        writer.close();
        writer.send(frame('a', 10));
        writer.send(frame('b', 9000));
        assertEquals(0, stream.writeCalls.get());
        assertTrue(failures.isEmpty());
    }

    @Test
    void closeWhileTheWriterThreadIsIdleEndsIt() {
        FrameWriter writer = writer(stream, threads);
        byte[] big = frame('B', 6000);
        writer.send(big);
        await().atMost(WITHIN).until(() -> stream.size() == big.length);

        writer.close();
        await().atMost(WITHIN).until(() -> stream.closed && !threads.created.get(0).isAlive());
        assertEquals(1, stream.closeCalls.get());
    }

    // ---------------------------------------------------------------- failures

    @Test
    void aDirectWriteFailureCallsTheCallbackOnceOnTheCallingThread() {
        stream.failFrom = 1;
        FrameWriter writer = writer(stream, NO_THREADS);

        writer.send(frame('a', 10));
        assertEquals(1, failures.size(), "reported before send returns");
        assertEquals("broken pipe", failures.get(0).getMessage());

        writer.send(frame('b', 10));
        writer.send(frame('c', 9000));
        assertEquals(1, stream.writeCalls.get(), "nothing more is written after a failure");
        assertEquals(1, failures.size());
    }

    @Test
    void aWriterThreadFailureCallsTheCallbackOnceAndClosesTheStream() {
        stream.failFrom = LIMIT + 1;
        FrameWriter writer = writer(stream, threads);

        writer.send(frame('B', 5000));
        await().atMost(WITHIN).until(() -> failures.size() == 1);
        await().atMost(WITHIN).until(() -> stream.closed && !threads.created.get(0).isAlive());

        writer.send(frame('a', 10));
        writer.send(frame('b', 9000));
        writer.close();
        assertEquals(1, failures.size());
        assertEquals("broken pipe", failures.get(0).getMessage());
        assertEquals(1, stream.writeCalls.get(), "nothing more is written after a failure");
        assertEquals(1, threads.created.size());
    }

    @Test
    void aFailureInTheWriterThreadDropsTheRestOfItsBatch() throws InterruptedException {
        stream.holdFrom = LIMIT + 1;
        stream.failFrom = LIMIT + 1;
        FrameWriter writer = writer(stream, threads);
        writer.send(frame('B', 5000));
        stream.awaitHolding();
        writer.send(frame('a', 10));
        writer.send(frame('b', 10));

        stream.release(); // the held write now fails
        await().atMost(WITHIN).until(() -> stream.closed && !threads.created.get(0).isAlive());
        assertEquals(1, failures.size());
        assertEquals(0, stream.size());
    }

    // ---------------------------------------------------------------- what surely never reached the worker

    @Test
    void aFrameWhoseDirectWriteFailedAndEveryLaterFrameWereRefusedButNotThoseWrittenBefore() {
        FrameWriter writer = writer(stream, NO_THREADS);
        long written = writer.send(frame('a', 100));
        assertFalse(writer.refused(written), "nothing failed yet");
        stream.failFrom = 1; // the worker's end of the pipe is closed
        long refused = writer.send(frame('b', 100));
        long later = writer.send(frame('c', 100));

        assertFalse(writer.refused(written), "written before the failure: it may have run");
        assertTrue(writer.refused(refused), "a page or less is taken whole or refused: none of it was written");
        assertTrue(writer.refused(later), "never written at all");
    }

    @Test
    void framesOfABatchThatFailedMayHaveReachedTheWorkerThoseAfterItDidNot() throws InterruptedException {
        stream.holdFrom = LIMIT + 1;
        stream.failFrom = LIMIT + 1;
        FrameWriter writer = writer(stream, threads);
        long inFailedBatch = writer.send(frame('B', 5000));
        stream.awaitHolding();
        long queued = writer.send(frame('a', 10));

        stream.release(); // the batch's write fails: part of it may have been written
        await().atMost(WITHIN).until(() -> failures.size() == 1);
        long afterFailure = writer.send(frame('b', 10));
        assertFalse(writer.refused(inFailedBatch), "a batch written in part is not known to be refused");
        assertTrue(writer.refused(queued), "queued behind the failed batch: dropped, never written");
        assertTrue(writer.refused(afterFailure));
    }

    @Test
    void nothingIsRefusedWhileWritesSucceedEvenIfTheWorkerHasNotReadThem() {
        FrameWriter writer = writer(stream, NO_THREADS);
        long end = writer.send(frame('a', 100));
        assertFalse(writer.refused(end));
        assertFalse(writer.refused(end + 1), "not yet sent is not refused");
    }
}
