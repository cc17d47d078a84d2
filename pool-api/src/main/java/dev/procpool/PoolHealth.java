package dev.procpool;

import java.util.List;
import java.util.Objects;

/**
 * A pool's health at one moment: the status and the alerts that explain it.
 *
 * @param status the overall status
 * @param alerts human-readable reasons, empty when healthy
 */
public record PoolHealth(HealthStatus status, List<String> alerts) {
    /**
     * Checks the status and copies the alerts.
     *
     * @param status the overall status
     * @param alerts human-readable reasons, empty when healthy
     */
    public PoolHealth {
        Objects.requireNonNull(status, "status");
        alerts = List.copyOf(alerts);
    }
}
