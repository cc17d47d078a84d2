package dev.procpool.core.internal.protocol;

/**
 * A value (a payload or a result) that cannot travel in a frame: it breaks one of the {@link FrameLimits}, or is
 * not JSON at all. The message names the limit and where in the value it was broken. An expected outcome: no stack
 * trace is filled in.
 */
public final class FrameLimitException extends Exception {
    private static final long serialVersionUID = 1L;

    public FrameLimitException(String message) {
        super(message, null, false, false);
    }
}
