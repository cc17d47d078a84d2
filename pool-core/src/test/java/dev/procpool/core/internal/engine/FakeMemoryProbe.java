package dev.procpool.core.internal.engine;

import dev.procpool.core.internal.supervise.MemoryProbe;

/** A memory probe with settable figures; never touches /proc or cgroups. */
final class FakeMemoryProbe extends MemoryProbe {
    static final long LIMIT = 1_000_000_000L;

    private volatile double fraction = 0.10;
    private volatile long oomKills = 0;
    private volatile String processStatus = "Name:\tjava\nState:\tS (sleeping)\nThreads:\t12\nVmRSS:\t  51200 kB\n";

    /** Memory in use as a fraction of {@link #LIMIT}. */
    void usage(double fraction) {
        this.fraction = fraction;
    }

    void oomKills(long count) {
        this.oomKills = count;
    }

    @Override
    public Usage usage() {
        return new Usage((long) (fraction * LIMIT), LIMIT, "fake");
    }

    @Override
    public long oomKills() {
        return oomKills;
    }

    @Override
    public long residentBytes(long pid) {
        return 0;
    }

    @Override
    public String processStatus(long pid) {
        return processStatus;
    }
}
