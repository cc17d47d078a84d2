package dev.procpool.core;

import dev.procpool.PoolConfig;
import dev.procpool.WorkerPool;
import dev.procpool.core.internal.engine.DefaultWorkerPool;
import dev.procpool.spi.WorkerPoolProvider;

/** Registers pool-core's engine with {@link WorkerPool#start(PoolConfig)}. */
public final class CoreWorkerPoolProvider implements WorkerPoolProvider {
    @Override
    public WorkerPool start(PoolConfig config) {
        return DefaultWorkerPool.start(config);
    }
}
