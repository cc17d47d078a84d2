package dev.procpool;

/**
 * A worker process could not be started or did not complete its {@code ready} handshake in time. The message
 * names the command, what happened (exit code, timeout, launch error) and the tail of the worker's stderr.
 */
public class WorkerStartupException extends ProcPoolException {
    private static final long serialVersionUID = 1L;

    public WorkerStartupException(String message) {
        super(message);
    }

    public WorkerStartupException(String message, Throwable cause) {
        super(message, cause);
    }
}
