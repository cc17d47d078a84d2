package dev.procpool.core.internal.protocol;

import java.io.IOException;

/** A line on a worker's stdout was longer than the frame limit; fatal to that worker. */
public final class FrameTooLargeException extends IOException {
    private static final long serialVersionUID = 1L;

    public FrameTooLargeException(int limit) {
        super("a line exceeded the frame limit of " + limit + " bytes");
    }
}
