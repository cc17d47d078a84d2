package dev.procpool;

import java.util.Objects;

/**
 * An error reported by a worker: the class name of the exception as the worker named it, its message and its
 * stack trace as text. The class is a name only; it is never loaded.
 *
 * @param className the remote exception's class name, for example {@code java.lang.IllegalStateException}
 * @param message   the remote message, possibly empty
 * @param stack     the remote stack trace as text, possibly empty
 */
public record RemoteError(String className, String message, String stack) {
    /**
     * Checks the class name; a {@code null} message or stack becomes empty.
     *
     * @param className the remote exception's class name
     * @param message   the remote message, or {@code null}
     * @param stack     the remote stack trace as text, or {@code null}
     */
    public RemoteError {
        Objects.requireNonNull(className, "className");
        message = message == null ? "" : message;
        stack = stack == null ? "" : stack;
    }
}
