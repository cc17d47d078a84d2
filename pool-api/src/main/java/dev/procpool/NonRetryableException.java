package dev.procpool;

/**
 * Thrown by a {@link TaskHandler} to report a failure that another attempt cannot fix (bad input, say). The task
 * fails at once with {@link FailureReason#HANDLER_ERROR} instead of being retried.
 */
public class NonRetryableException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    /**
     * Creates the exception.
     *
     * @param message what went wrong
     */
    public NonRetryableException(String message) {
        super(message);
    }

    /**
     * Creates the exception with its cause.
     *
     * @param message what went wrong
     * @param cause   the exception that caused it
     */
    public NonRetryableException(String message, Throwable cause) {
        super(message, cause);
    }
}
