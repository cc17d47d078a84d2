package dev.procpool;

/**
 * A worker process could not be started or did not complete its {@code ready} handshake in time. The message
 * names the command, what happened (exit code, timeout, launch error) and the tail of the worker's stderr.
 */
public class WorkerStartupException extends ProcPoolException {
    private static final long serialVersionUID = 1L;

    /**
     * Creates the exception.
     *
     * @param message what went wrong
     */
    public WorkerStartupException(String message) {
        super(message);
    }

    /**
     * Creates the exception with its cause.
     *
     * @param message what went wrong
     * @param cause   the exception that caused it
     */
    public WorkerStartupException(String message, Throwable cause) {
        super(message, cause);
    }
}
