package dev.procpool;

/** How well a pool is doing. */
public enum HealthStatus {
    /** Running as configured. */
    HEALTHY,
    /** Serving, but something needs attention (restart storm, memory gate closed, dead letters growing). */
    DEGRADED,
    /** Not able to serve: no worker can run. */
    CRITICAL
}
