package dev.procpool.core.internal.store;

import java.time.Instant;
import java.util.Objects;

/**
 * A host registered in the store.
 *
 * @param name      its lease-owner name
 * @param machine   its machine key, or {@code null}
 * @param pid       its process id
 * @param startedAt when it opened the store
 * @param lastSeen  its latest renewal
 * @param stoppedAt when it closed the store or was found dead, else {@code null}
 */
public record HostRecord(String name, String machine, long pid, Instant startedAt, Instant lastSeen,
                         Instant stoppedAt) {
    public HostRecord {
        Objects.requireNonNull(name, "name");
    }

    /** Whether the host is neither stopped nor silent for longer than {@code leaseTimeout} at {@code now}. */
    public boolean isLive(Instant now, java.time.Duration leaseTimeout) {
        return stoppedAt == null && !lastSeen.plus(leaseTimeout).isBefore(now);
    }
}
