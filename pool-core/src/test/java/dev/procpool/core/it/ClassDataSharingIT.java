package dev.procpool.core.it;

import dev.procpool.WorkerPool;
import dev.procpool.WorkerSpec;
import dev.procpool.core.testing.FaultInjectionHandler;
import dev.procpool.core.testing.ProcessLeakCheck;
import dev.procpool.core.testing.TestPools;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Java workers start from a class-data-sharing archive the pool makes on first use. */
class ClassDataSharingIT {
    private final ProcessLeakCheck leaks = ProcessLeakCheck.start();

    @AfterEach
    void nothingLeftBehind() {
        leaks.assertNoneLeft(Duration.ofSeconds(10));
    }

    /** The test classpath with every directory replaced by this module's jar: the JVM archives jars only. */
    private static List<Path> jarClasspath() throws IOException {
        List<Path> jars = new ArrayList<>();
        for (String entry : System.getProperty("java.class.path").split(java.io.File.pathSeparator)) {
            if (entry.endsWith(".jar")) {
                jars.add(Path.of(entry));
            }
        }
        try (Stream<Path> built = Files.list(Path.of("target"))) {
            built.filter(p -> p.getFileName().toString().matches("pool-core-.*\\.jar")
                    && !p.getFileName().toString().contains("sources")).forEach(p -> jars.add(p.toAbsolutePath()));
        }
        return jars;
    }

    private static String commandLine(long pid) throws IOException {
        return new String(Files.readAllBytes(Path.of("/proc", Long.toString(pid), "cmdline"))).replace('\0', ' ');
    }

    private static WorkerPool pool(Path cache, List<Path> classpath) {
        return WorkerPool.builder().name("cds").workers(1).workerCacheDirectory(cache)
                .worker(WorkerSpec.java(FaultInjectionHandler.class).withClasspath(classpath)).start();
    }

    @Test
    void theFirstPoolMakesAnArchiveAndTheNextStartsFromIt(@TempDir Path dir) throws Exception {
        List<Path> classpath = jarClasspath();
        Path cache = dir.resolve("cache");

        try (WorkerPool first = pool(cache, classpath)) {
            first.submitTask("fault", Map.of("fault", "none")).await(Duration.ofSeconds(20));
            assertTrue(commandLine(first.workers().get(0).pid()).contains("-XX:ArchiveClassesAtExit="));
        }
        assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(cache)));
        Path[] archives;
        try (Stream<Path> files = Files.list(cache)) {
            archives = files.filter(p -> p.toString().endsWith(".jsa")).toArray(Path[]::new);
        }
        assertEquals(1, archives.length, Arrays.toString(archives));
        assertEquals("r--------", PosixFilePermissions.toString(Files.getPosixFilePermissions(archives[0])));

        try (WorkerPool second = pool(cache, classpath)) {
            assertTrue(commandLine(second.workers().get(0).pid()).contains("-XX:SharedArchiveFile=" + archives[0]));
            assertEquals(1, ((Number) second.submitTask("fault", Map.of("fault", "none"))
                    .await(Duration.ofSeconds(20)).as(Map.class).get("attempt")).intValue());
        }
    }

    @Test
    void aDirectoryOthersCanWriteIsNotUsed(@TempDir Path dir) throws Exception {
        Path cache = Files.createDirectory(dir.resolve("shared"),
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwxrwxrwx")));
        Files.setPosixFilePermissions(cache, PosixFilePermissions.fromString("rwxrwxrwx"));
        try (WorkerPool pool = pool(cache, jarClasspath())) {
            String command = commandLine(pool.workers().get(0).pid());
            assertFalse(command.contains("ArchiveClassesAtExit") || command.contains("SharedArchiveFile"), command);
            pool.submitTask("fault", Map.of("fault", "none")).await(Duration.ofSeconds(20));
        }
    }
}
