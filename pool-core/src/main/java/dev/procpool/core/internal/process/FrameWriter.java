package dev.procpool.core.internal.process;

import java.io.IOException;
import java.io.OutputStream;
import java.util.ArrayDeque;
import java.util.concurrent.ThreadFactory;
import java.util.function.Consumer;

/**
 * Writes frames to a worker's stdin without ever blocking the calling thread.
 *
 * <p>A write to a pipe blocks only when the pipe is full. Every byte offered gets an offset; when the worker
 * answers a task it has read everything up to the end of that task's frame ({@link #consumedUpTo(long)}). While
 * the bytes not yet known to be read, plus the new frame, fit in {@link #DIRECT_WRITE_LIMIT} (one page, the
 * smallest capacity a Linux pipe can have) the caller writes directly: no thread hand-off on the hot path.
 * Anything larger, or anything behind a queued frame, goes to a writer thread started on first need, which also
 * batches its flushes. Thread-safe.
 */
public final class FrameWriter {
    /** Unread bytes that are sure to fit in the pipe. */
    public static final int DIRECT_WRITE_LIMIT = 4096;

    private final OutputStream out;
    private final ThreadFactory threads;
    private final Consumer<IOException> onFailure;
    private final ArrayDeque<byte[]> queue = new ArrayDeque<>();
    private long offered;
    private long consumed;
    /**
     * The offset up to which bytes may have reached the worker: advanced past a direct write that succeeded, and
     * past a batch before it is written (a batch that fails may have been written in part). A direct write that
     * fails wrote nothing: it is at most one page, and the pipe takes a page whole or refuses it.
     */
    private long mayHaveReached;
    private boolean closed;
    private boolean failed;
    /** The writer thread holds a batch it has taken off the queue but not yet flushed. */
    private boolean writing;
    private Thread writerThread;

    public FrameWriter(OutputStream out, ThreadFactory threads, Consumer<IOException> onFailure) {
        this.out = out;
        this.threads = threads;
        this.onFailure = onFailure;
    }

    /**
     * Sends a frame.
     *
     * @return the offset just past the frame, to pass to {@link #consumedUpTo(long)} when the worker answers it
     */
    public long send(byte[] frame) {
        IOException failure = null;
        long end;
        synchronized (this) {
            offered += frame.length;
            end = offered;
            if (closed || failed) {
                return end;
            }
            if (queue.isEmpty() && !writing && end - consumed <= DIRECT_WRITE_LIMIT) {
                try {
                    out.write(frame);
                    out.flush();
                    mayHaveReached = end;
                } catch (IOException e) {
                    failed = true;
                    failure = e;
                }
            } else {
                queue.addLast(frame);
                if (writerThread == null) {
                    writerThread = threads.newThread(this::drain);
                    writerThread.start();
                }
                notifyAll();
            }
        }
        if (failure != null) {
            onFailure.accept(failure);
        }
        return end;
    }

    /**
     * Whether the frame ending at {@code frameEnd} surely never reached the worker: writing to it failed (its end of
     * the pipe was closed: it is dead or dying) before any byte of that frame could be written.
     */
    public synchronized boolean refused(long frameEnd) {
        return failed && frameEnd > mayHaveReached;
    }

    /** The worker has read every byte before {@code offset}. */
    public synchronized void consumedUpTo(long offset) {
        if (offset > consumed) {
            consumed = Math.min(offset, offered); // never past what was written to this worker
        }
    }

    /** Closes stdin once queued frames are written: a worker exits when its stdin ends. */
    public void close() {
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
            notifyAll();
            if (writerThread != null) {
                return; // the writer thread closes the stream after draining
            }
        }
        closeQuietly();
    }

    private void drain() {
        while (true) {
            byte[][] batch;
            synchronized (this) {
                while (queue.isEmpty() && !closed && !failed) {
                    try {
                        wait();
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        return;
                    }
                }
                if (failed || queue.isEmpty()) {
                    break; // closed and drained
                }
                batch = queue.toArray(new byte[0][]);
                queue.clear();
                mayHaveReached = offered; // every frame offered so far is written or in this batch
                writing = true; // until flushed, later frames queue behind this batch
            }
            try {
                for (byte[] frame : batch) {
                    out.write(frame);
                }
                out.flush();
                synchronized (this) {
                    writing = false;
                }
            } catch (IOException e) {
                boolean first;
                synchronized (this) {
                    first = !failed;
                    failed = true;
                    writing = false;
                    queue.clear();
                }
                if (first) {
                    onFailure.accept(e);
                }
                break;
            }
        }
        closeQuietly();
    }

    private void closeQuietly() {
        try {
            out.close();
        } catch (IOException ignored) {
            // the worker is gone; nothing left to tell it
        }
    }
}
