package dev.procpool;

/**
 * The root of every exception procpool throws. Catch this type to handle any pool failure; catch a
 * subclass ({@link TaskFailedException}, {@link TaskRejectedException}, {@link WorkerStartupException})
 * for the context it carries.
 */
public class ProcPoolException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public ProcPoolException(String message) {
        super(message);
    }

    public ProcPoolException(String message, Throwable cause) {
        super(message, cause);
    }
}
