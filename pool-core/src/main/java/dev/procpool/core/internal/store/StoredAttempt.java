package dev.procpool.core.internal.store;

import dev.procpool.AttemptRecord;

import java.time.Instant;
import java.util.Objects;

/**
 * A failed attempt as stored.
 *
 * @param host    the host that ran it (for {@code HOST_LOST}, the host that was lost)
 * @param record  the forensics
 * @param endedAt when it ended (for {@code HOST_LOST}, when it was rescued)
 */
public record StoredAttempt(String host, AttemptRecord record, Instant endedAt) {
    public StoredAttempt {
        Objects.requireNonNull(host, "host");
        Objects.requireNonNull(record, "record");
        Objects.requireNonNull(endedAt, "endedAt");
    }
}
