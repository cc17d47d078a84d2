package dev.procpool.core.internal.process;

/**
 * How a worker process ended. The JDK reports death by signal N as exit code 128 + N, as shells do; codes above
 * 128 are read that way.
 *
 * @param code the exit code as the JDK reports it
 */
public record ExitStatus(int code) {
    public static final int SIGKILL = 9;
    public static final int SIGTERM = 15;

    /** The signal that killed the process, or 0 if it exited by itself. */
    public int signal() {
        return code > 128 && code < 128 + 65 ? code - 128 : 0;
    }

    /** Whether the process was killed by SIGKILL (what the kernel's OOM killer sends). */
    public boolean killedBySigkill() {
        return signal() == SIGKILL;
    }

    @Override
    public String toString() {
        int signal = signal();
        return signal == 0 ? "exit code " + code : "killed by signal " + signal + signalName(signal);
    }

    private static String signalName(int signal) {
        return switch (signal) {
            case 2 -> " (SIGINT)";
            case 6 -> " (SIGABRT)";
            case 9 -> " (SIGKILL)";
            case 11 -> " (SIGSEGV)";
            case 15 -> " (SIGTERM)";
            default -> "";
        };
    }
}
