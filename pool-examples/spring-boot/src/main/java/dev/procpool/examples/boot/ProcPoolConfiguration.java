package dev.procpool.examples.boot;

import dev.procpool.PoolConfig;
import dev.procpool.PoolHealth;
import dev.procpool.PoolState;
import dev.procpool.WorkerPool;
import dev.procpool.WorkerSpec;
import dev.procpool.core.metrics.PoolMetrics;
import org.springframework.boot.actuate.health.Health;
import org.springframework.boot.actuate.health.HealthIndicator;
import org.springframework.boot.actuate.health.Status;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/** The pool and what Actuator reads from it. */
@Configuration(proxyBeanMethods = false)
public class ProcPoolConfiguration {
    /** A pool that still runs tasks but restarts workers slowly (restart storm) or holds them (memory gate). */
    static final Status DEGRADED = new Status("DEGRADED", "restart storm or memory gate closed; tasks still run");

    /**
     * The pool, started when the context starts (a worker that cannot start fails the application's start). Its
     * destroy method is {@code close()}: drain within {@code procpool.shutdown-timeout}, then stop the workers.
     * It depends on the ledger, so Spring destroys it before the ledger its tasks write to.
     */
    @Bean(destroyMethod = "close")
    public WorkerPool workerPool(ProcPoolProperties properties, TaskLedger ledger, PoolMetrics metrics) {
        PoolConfig.Builder config = WorkerPool.builder()
                .name(properties.name())
                .tracker(metrics) // timed from the first worker on
                .workers(properties.workers())
                .worker(WorkerSpec.java(TextHandler.class).withExtraJvmOptions(properties.jvmOptions()))
                .queueCapacity(properties.queueCapacity())
                .startupTimeout(properties.startupTimeout())
                .shutdownTimeout(properties.shutdownTimeout())
                .stopGracePeriod(properties.stopGracePeriod())
                .jvmShutdown(properties.jvmShutdown());
        if (properties.defaultTaskTimeout() != null) {
            config.defaultTaskTimeout(properties.defaultTaskTimeout());
        }
        if (properties.workerCacheDirectory() != null) {
            config.workerCacheDirectory(properties.workerCacheDirectory());
        }
        return config.start();
    }

    /**
     * The pool's meters: a {@code MeterBinder} bean, which Actuator binds to its registry (so they appear on
     * {@code /actuator/prometheus}), and the pool's tracker. It exists before the pool, so it is destroyed (its
     * meters removed) after the pool is closed.
     */
    @Bean(destroyMethod = "close")
    public PoolMetrics poolMetrics() {
        return new PoolMetrics();
    }

    /**
     * {@code procpool} in {@code /actuator/health}: UP, DEGRADED, DOWN when no worker is ready, OUT_OF_SERVICE once
     * the pool closes. DEGRADED is ranked between them in {@code application.yml} and answers 200.
     */
    @Bean
    public HealthIndicator procpoolHealthIndicator(WorkerPool pool) {
        return () -> {
            PoolState state = pool.state();
            PoolHealth health = pool.health();
            Status status = state == PoolState.DRAINING || state == PoolState.TERMINATED ? Status.OUT_OF_SERVICE
                    : switch (health.status()) {
                        case HEALTHY -> Status.UP;
                        case DEGRADED -> DEGRADED;
                        case CRITICAL -> Status.DOWN;
                    };
            return Health.status(status).withDetail("state", state).withDetail("alerts", health.alerts())
                    .withDetail("workers", pool.workers().size()).build();
        };
    }
}
