package dev.procpool.examples.boot;

import dev.procpool.PoolConfig;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * The pool's settings under {@code procpool.*} in {@code application.yml}. Values are checked by the pool's own
 * builder when the bean is created: a bad one fails the start with a message naming the setting.
 *
 * @param name                 the pool's name: thread names, logs, the {@code pool} tag of its meters
 * @param workers              worker processes
 * @param queueCapacity        tasks that may wait for a worker
 * @param startupTimeout       launch to ready, per worker
 * @param defaultTaskTimeout   the timeout of tasks that set none; none if absent
 * @param shutdownTimeout      how long closing the pool lets tasks finish
 * @param stopGracePeriod      each step of stopping a worker
 * @param jvmShutdown          what the JVM's shutdown does to the open pool; {@code none} here, as Spring's context
 *                             closes it in the right order
 * @param jvmOptions           extra JVM options of the workers, for example {@code -Xmx128m}
 * @param workerCacheDirectory where workers' class-data archives and this jar's extracted libraries live; the
 *                             pool's default ({@code <tmpdir>/procpool-<user>}) if absent
 */
@ConfigurationProperties("procpool")
public record ProcPoolProperties(
        @DefaultValue("procpool") String name,
        @DefaultValue("2") int workers,
        @DefaultValue("1000") int queueCapacity,
        @DefaultValue("60s") Duration startupTimeout,
        Duration defaultTaskTimeout,
        @DefaultValue("20s") Duration shutdownTimeout,
        @DefaultValue("3s") Duration stopGracePeriod,
        @DefaultValue("none") PoolConfig.JvmShutdown jvmShutdown,
        @DefaultValue List<String> jvmOptions,
        Path workerCacheDirectory) {
}
