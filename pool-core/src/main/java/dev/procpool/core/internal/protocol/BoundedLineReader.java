package dev.procpool.core.internal.protocol;

import java.io.IOException;
import java.io.InputStream;
import java.util.Arrays;

/**
 * Reads {@code \n}-terminated lines of bytes with a hard length limit, before any parser sees them. A line longer
 * than the limit raises {@link FrameTooLargeException} without buffering it, so a worker cannot make the host
 * allocate more than the limit. Not thread-safe: one reader thread owns it.
 */
public final class BoundedLineReader {
    private final InputStream in;
    private final int maxLineBytes;
    private final byte[] chunk;
    private int chunkPos;
    private int chunkEnd;
    private byte[] line = new byte[256];

    public BoundedLineReader(InputStream in, int maxLineBytes) {
        this.in = in;
        this.maxLineBytes = maxLineBytes;
        this.chunk = new byte[Math.min(64 * 1024, Math.max(1024, maxLineBytes))];
    }

    /**
     * The next line without its terminator (and without a {@code \r} before it), or {@code null} at end of stream.
     * A last line without a terminator is returned as a line.
     *
     * @throws FrameTooLargeException if the line exceeds the limit
     */
    public byte[] readLine() throws IOException {
        int length = nextLine();
        return length < 0 ? null : Arrays.copyOf(line, length);
    }

    /**
     * Reads the next line into {@link #buffer()} without copying it out: returns its length (without the terminator
     * and a {@code \r} before it), or -1 at end of stream. The buffer's content stays valid until the next call.
     *
     * @throws FrameTooLargeException if the line exceeds the limit
     */
    public int nextLine() throws IOException {
        int length = 0;
        while (true) {
            if (chunkPos == chunkEnd) {
                int read = in.read(chunk, 0, chunk.length);
                if (read < 0) {
                    return length == 0 ? -1 : trim(length);
                }
                chunkPos = 0;
                chunkEnd = read;
            }
            int start = chunkPos;
            int newline = -1;
            for (int i = start; i < chunkEnd; i++) {
                if (chunk[i] == '\n') {
                    newline = i;
                    break;
                }
            }
            int end = newline < 0 ? chunkEnd : newline;
            int count = end - start;
            if (length + count > maxLineBytes + 1) {
                // +1 leaves room for a '\r' that will be trimmed; the exact check happens in trim().
                throw new FrameTooLargeException(maxLineBytes);
            }
            if (length + count > line.length) {
                line = Arrays.copyOf(line, Math.min(maxLineBytes + 1, Math.max(line.length * 2, length + count)));
            }
            System.arraycopy(chunk, start, line, length, count);
            length += count;
            if (newline >= 0) {
                chunkPos = newline + 1;
                return trim(length);
            }
            chunkPos = chunkEnd;
        }
    }

    /** The line {@link #nextLine()} read, in its first bytes. */
    public byte[] buffer() {
        return line;
    }

    /** Whether a whole line is already buffered, so that {@link #readLine()} returns it without reading. */
    public boolean hasLine() {
        for (int i = chunkPos; i < chunkEnd; i++) {
            if (chunk[i] == '\n') {
                return true;
            }
        }
        return false;
    }

    private int trim(int length) throws FrameTooLargeException {
        if (length > 0 && line[length - 1] == '\r') {
            length--;
        }
        if (length > maxLineBytes) {
            throw new FrameTooLargeException(maxLineBytes);
        }
        return length;
    }
}
