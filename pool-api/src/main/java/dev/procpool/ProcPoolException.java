package dev.procpool;

/**
 * The root of every exception procpool throws. Catch this type to handle any pool failure; catch a
 * subclass ({@link TaskFailedException}, {@link TaskRejectedException}, {@link WorkerStartupException})
 * for the context it carries.
 */
public class ProcPoolException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    /**
     * Creates the exception.
     *
     * @param message what went wrong
     */
    public ProcPoolException(String message) {
        super(message);
    }

    /**
     * Creates the exception with its cause.
     *
     * @param message what went wrong
     * @param cause   the exception that caused it
     */
    public ProcPoolException(String message, Throwable cause) {
        super(message, cause);
    }
}
