package dev.procpool.core.internal.supervise;

/**
 * Whether new workers may start: closed while the memory in use is above a fraction of the limit (container or
 * machine), so that scaling and restarts do not push the host into the kernel's OOM killer. Not thread-safe.
 */
public final class MemoryGate {
    private final double threshold;
    private MemoryProbe.Usage lastUsage;
    private boolean closed;

    /** @param threshold the fraction in use above which the gate closes; 1 or more keeps it open */
    public MemoryGate(double threshold) {
        this.threshold = threshold;
    }

    /** Takes a new reading (null when none can be had); returns whether the gate opened or closed with it. */
    public boolean update(MemoryProbe.Usage usage) {
        lastUsage = usage;
        boolean nowClosed = usage != null && threshold < 1.0 && usage.fraction() > threshold;
        boolean changed = nowClosed != closed;
        closed = nowClosed;
        return changed;
    }

    public boolean isClosed() {
        return closed;
    }

    /** The last reading, or null. */
    public MemoryProbe.Usage lastUsage() {
        return lastUsage;
    }

    public double threshold() {
        return threshold;
    }
}
