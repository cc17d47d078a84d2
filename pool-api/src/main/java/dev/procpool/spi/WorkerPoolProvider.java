package dev.procpool.spi;

import dev.procpool.PoolConfig;
import dev.procpool.ProcPoolException;
import dev.procpool.WorkerPool;

import java.util.ServiceLoader;

/**
 * The engine behind {@link WorkerPool#start(PoolConfig)}, found with {@link ServiceLoader}. {@code pool-core}
 * provides it; applications do not implement this.
 */
public interface WorkerPoolProvider {

    /**
     * Starts a pool with the given configuration.
     *
     * @param config the pool's configuration
     * @return the running pool
     */
    WorkerPool start(PoolConfig config);

    /**
     * The provider on the classpath.
     *
     * @return the first provider found
     * @throws ProcPoolException if none is found (add {@code dev.procpool:pool-core} to the dependencies)
     */
    static WorkerPoolProvider load() {
        return ServiceLoader.load(WorkerPoolProvider.class, WorkerPoolProvider.class.getClassLoader())
                .findFirst()
                .orElseThrow(() -> new ProcPoolException("no procpool engine on the classpath: add the dependency "
                        + "dev.procpool:pool-core"));
    }
}
