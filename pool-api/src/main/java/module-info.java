/**
 * The public contract of procpool: the pool, tasks and their outcomes, configuration, events and snapshots, and the
 * worker-side handler SPI. The engine is found at run time through {@link dev.procpool.spi.WorkerPoolProvider}.
 */
module dev.procpool.api {
    exports dev.procpool;
    exports dev.procpool.spi;

    requires transitive java.sql; // a durable task store takes the application's javax.sql.DataSource

    uses dev.procpool.spi.WorkerPoolProvider;
}
