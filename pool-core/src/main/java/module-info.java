/**
 * The procpool engine and the Java worker runtime. Only three packages are API: the Micrometer binder
 * ({@code dev.procpool.core.metrics}), payloads written with the application's Jackson mapper
 * ({@code dev.procpool.core.json}), and what users test their settings and handlers with
 * ({@code dev.procpool.core.testing}: the fault-injection handler, and a check that no process a pool started is
 * left); everything under {@code dev.procpool.core.internal} may change in any release.
 */
module dev.procpool.core {
    requires transitive dev.procpool.api;
    requires transitive micrometer.core;
    // transitive: dev.procpool.core.json takes an ObjectMapper
    requires transitive com.fasterxml.jackson.databind;
    requires org.slf4j;
    requires java.sql;

    exports dev.procpool.core.json;
    exports dev.procpool.core.metrics;
    exports dev.procpool.core.testing;

    provides dev.procpool.spi.WorkerPoolProvider with dev.procpool.core.CoreWorkerPoolProvider;
}
