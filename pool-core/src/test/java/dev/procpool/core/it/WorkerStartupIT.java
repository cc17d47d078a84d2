package dev.procpool.core.it;

import dev.procpool.PoolConfig;
import dev.procpool.WorkerGroup;
import dev.procpool.WorkerPool;
import dev.procpool.WorkerSnapshot;
import dev.procpool.core.testing.TestHandler;
import dev.procpool.core.testing.TestPools;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.awaitility.Awaitility.await;

/**
 * What a Java worker's start-up costs, seen from the classes its JVM loads. The first string concatenation with
 * {@code +} in a JVM bootstraps {@code StringConcatFactory}, which combines method handles: it loads bound method
 * handle species ({@code BoundMethodHandle$Species_LL} and the like) and spins classes that no class-data sharing
 * archive holds, about 15 ms of CPU time of a fresh worker before its first result. The worker runtime must get to
 * its first answer without combining method handles.
 */
class WorkerStartupIT {
    /**
     * Species binding two values or more, loaded only when method handles are combined; a lambda binds at most one
     * ({@code Species_L}).
     */
    private static final Pattern COMBINED_HANDLES =
            Pattern.compile("java\\.lang\\.invoke\\.BoundMethodHandle\\$Species_[A-Z]{2,} ");

    /** Loaded when a worker builds a Jackson mapper: tens of milliseconds of a fresh worker. */
    private static final String OBJECT_MAPPER = "com.fasterxml.jackson.databind.ObjectMapper ";

    @Test
    void aWorkerWhosePayloadsArePlainStringsBuildsNoObjectMapper(@TempDir Path directory) throws IOException {
        Path classLog = directory.resolve("classes.log");
        ProcessHandle worker;
        Optional<Instant> started;
        try (WorkerPool pool = poolLoggingClasses("startup-mapper", classLog)) {
            worker = ProcessHandle.of(pool.workers().get(0).pid()).orElseThrow();
            started = worker.info().startInstant();
            assertEquals("plain text", pool.submitTask("echo", "plain text").await(Duration.ofSeconds(30))
                    .as(String.class));
            String loaded = Files.readString(classLog);
            assertTrue(loaded.contains("dev.procpool.core.internal.worker.WorkerTaskContext "), loaded);
            assertFalse(loaded.contains(OBJECT_MAPPER), "the worker built a Jackson mapper for a plain string");

            // the check can see one: a map needs the mapper
            assertEquals(Map.of("n", 1), pool.submitTask("echo", Map.of("n", 1)).await(Duration.ofSeconds(30))
                    .as(Map.class));
            assertTrue(Files.readString(classLog).contains(OBJECT_MAPPER), "the log shows the mapper once built");
        }
        awaitGone(worker, started);
    }

    @Test
    void aWorkerAnswersItsFirstTaskWithoutCombiningMethodHandles(@TempDir Path directory)
            throws IOException {
        Path classLog = directory.resolve("classes.log");
        ProcessHandle worker;
        Optional<Instant> started;
        try (WorkerPool pool = poolLoggingClasses("startup-classes", classLog)) {
            List<WorkerSnapshot> workers = pool.workers();
            assertEquals(1, workers.size());
            worker = ProcessHandle.of(workers.get(0).pid()).orElseThrow();
            started = worker.info().startInstant();
            assertEquals(Map.of("n", 1), pool.submitTask("echo", Map.of("n", 1)).await(Duration.ofSeconds(30))
                    .as(Map.class));
            String loaded = Files.readString(classLog);
            // the log is live: the worker's own classes are in it, so the check looks where the bootstrap would be
            assertTrue(loaded.contains("dev.procpool.core.internal.worker.WorkerTaskContext "), loaded);
            Matcher combined = COMBINED_HANDLES.matcher(loaded);
            assertFalse(combined.find(), () -> "the worker combined method handles (string concatenation?) before its "
                    + "first answer, after loading:\n"
                    + loaded.substring(Math.max(0, combined.start() - 2000), combined.end()));
        }
        awaitGone(worker, started);
    }

    /** A pool of one Java worker whose JVM logs every class it loads to {@code classLog}. */
    private static WorkerPool poolLoggingClasses(String name, Path classLog) {
        return WorkerPool.builder().name(name)
                .group(WorkerGroup.builder(PoolConfig.DEFAULT_GROUP, TestPools.javaWorker(TestHandler.class)
                        .withExtraJvmOptions(List.of("-Xlog:class+load:file=" + classLog))).workers(1).build())
                .start();
    }

    /** The worker process, found by pid and start time (a reused pid is another process), has exited. */
    private static void awaitGone(ProcessHandle worker, Optional<Instant> started) {
        await("the worker to exit").atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(20))
                .until(() -> !ProcessHandle.of(worker.pid()).filter(ProcessHandle::isAlive)
                        .map(p -> p.info().startInstant().equals(started)).orElse(false));
    }
}
