package dev.procpool.core.it;

import dev.procpool.WorkerPool;
import dev.procpool.WorkerSnapshot;
import dev.procpool.WorkerSpec;
import dev.procpool.core.internal.worker.WorkerMain;
import dev.procpool.core.testing.FaultInjectionHandler;
import dev.procpool.core.testing.ProcessLeakCheck;
import dev.procpool.core.testing.TestPools;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Java workers start from a class-data-sharing archive the pool makes on first use. Each worker JVM logs where every
 * class came from ({@code -Xlog:class+load} to a file of its own), so the test sees whether the archive was really
 * mapped: with {@code -Xshare:auto} the JVM falls back to the jars without a word when it rejects an archive.
 */
class ClassDataSharingIT {
    /** Where the dynamic archive's classes come from, in the class+load log. */
    private static final String FROM_ARCHIVE = "source: shared objects file (top)";

    private final ProcessLeakCheck leaks = ProcessLeakCheck.start();

    /** Every worker process the test saw, with its start time, so that a reused pid is not taken for it. */
    private final List<ProcessHandle> seen = new ArrayList<>();

    @AfterEach
    void nothingLeftBehind() {
        await("every worker of the test and its descendants to exit").atMost(Duration.ofSeconds(20))
                .pollInterval(Duration.ofMillis(50)).until(() -> seen.stream().noneMatch(ClassDataSharingIT::alive));
        leaks.assertNoneLeft(Duration.ofSeconds(10));
    }

    /** Alive, and the same process: same pid and same start time. */
    private static boolean alive(ProcessHandle process) {
        Optional<ProcessHandle> now = ProcessHandle.of(process.pid());
        return now.isPresent() && now.get().isAlive()
                && now.get().info().startInstant().equals(process.info().startInstant());
    }

    /** Records a pool's workers and their descendants while they live. */
    private void record(WorkerPool pool) {
        for (WorkerSnapshot worker : pool.workers()) {
            ProcessHandle.of(worker.pid()).ifPresent(process -> {
                seen.add(process);
                process.descendants().forEach(seen::add);
            });
        }
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

    /** A pool whose worker logs where each class came from to {@code classes-<pid>.log} in {@code logs}. */
    private WorkerPool pool(Path cache, List<Path> classpath, Path logs) {
        WorkerPool pool = WorkerPool.builder().name("cds").workers(1).workerCacheDirectory(cache)
                .worker(WorkerSpec.java(FaultInjectionHandler.class).withClasspath(classpath)
                        .withExtraJvmOptions(List.of("-Xlog:class+load=info:file=" + logs + "/classes-%p.log")))
                .start();
        record(pool);
        return pool;
    }

    /** The class+load log line of a class in a worker's log, waiting for the JVM to have written it. */
    private static String loadOf(Path logs, long pid, Class<?> type) {
        Path log = logs.resolve("classes-" + pid + ".log");
        String prefix = " " + type.getName() + " source: ";
        return await("the class+load line of " + type.getSimpleName() + " in " + log).atMost(Duration.ofSeconds(20))
                .until(() -> Files.exists(log) ? Files.readAllLines(log).stream()
                        .filter(line -> line.contains(prefix)).findFirst().orElse(null) : null, line -> line != null);
    }

    private static Path[] archives(Path cache) throws IOException {
        try (Stream<Path> files = Files.list(cache)) {
            return files.filter(p -> p.toString().endsWith(".jsa")).toArray(Path[]::new);
        }
    }

    private static int attemptOf(WorkerPool pool) {
        return ((Number) pool.submitTask("fault", Map.of("fault", "none")).await(Duration.ofSeconds(20))
                .as(Map.class).get("attempt")).intValue();
    }

    @Test
    void theFirstPoolMakesAnArchiveAndTheNextReallyStartsFromIt(@TempDir Path dir) throws Exception {
        List<Path> classpath = jarClasspath();
        Path cache = dir.resolve("cache");
        Path logs = Files.createDirectory(dir.resolve("logs"));

        try (WorkerPool first = pool(cache, classpath, logs)) {
            long pid = first.workers().get(0).pid();
            assertEquals(1, attemptOf(first));
            assertTrue(commandLine(pid).contains("-XX:ArchiveClassesAtExit="));
            assertFalse(loadOf(logs, pid, WorkerMain.class).contains(FROM_ARCHIVE), "no archive yet");
        }
        assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(cache)));
        Path[] archives = archives(cache);
        assertEquals(1, archives.length, Arrays.toString(archives));
        assertEquals("r--------", PosixFilePermissions.toString(Files.getPosixFilePermissions(archives[0])));
        try (Stream<Path> files = Files.list(cache)) {
            assertEquals(List.of(archives[0]), files.toList(), "no temporary file left");
        }

        try (WorkerPool second = pool(cache, classpath, logs)) {
            long pid = second.workers().get(0).pid();
            assertTrue(commandLine(pid).contains("-XX:SharedArchiveFile=" + archives[0]));
            assertEquals(1, attemptOf(second));
            // the proof that the JVM mapped the archive, not only that it was offered one
            assertTrue(loadOf(logs, pid, WorkerMain.class).contains(FROM_ARCHIVE),
                    loadOf(logs, pid, WorkerMain.class));
            assertTrue(loadOf(logs, pid, FaultInjectionHandler.class).contains(FROM_ARCHIVE),
                    loadOf(logs, pid, FaultInjectionHandler.class));
        }
    }

    /** The counterpart that shows the check above can fail: a damaged archive is offered, refused, not used. */
    @Test
    void aDamagedArchiveIsNotUsedAndTheWorkerStillStarts(@TempDir Path dir) throws Exception {
        List<Path> classpath = jarClasspath();
        Path cache = dir.resolve("cache");
        Path logs = Files.createDirectory(dir.resolve("logs"));
        try (WorkerPool first = pool(cache, classpath, logs)) {
            assertEquals(1, attemptOf(first));
        }
        Path archive = archives(cache)[0];
        Files.setPosixFilePermissions(archive, PosixFilePermissions.fromString("rw-------"));
        try (FileChannel channel = FileChannel.open(archive, StandardOpenOption.WRITE)) {
            channel.write(ByteBuffer.allocate(4), 0); // no magic number
        }
        Files.setPosixFilePermissions(archive, PosixFilePermissions.fromString("r--------"));

        try (WorkerPool second = pool(cache, classpath, logs)) {
            long pid = second.workers().get(0).pid();
            assertTrue(commandLine(pid).contains("-XX:SharedArchiveFile=" + archive));
            assertEquals(1, attemptOf(second));
            String load = loadOf(logs, pid, WorkerMain.class);
            assertFalse(load.contains(FROM_ARCHIVE), load);
            assertTrue(load.contains("source: file:") || load.contains("source: jar:"), load);
        }
    }

    @Test
    void aDirectoryOthersCanWriteIsNotUsed(@TempDir Path dir) throws Exception {
        Path cache = Files.createDirectory(dir.resolve("shared"),
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwxrwxrwx")));
        Files.setPosixFilePermissions(cache, PosixFilePermissions.fromString("rwxrwxrwx"));
        Path logs = Files.createDirectory(dir.resolve("logs"));
        try (WorkerPool pool = pool(cache, jarClasspath(), logs)) {
            String command = commandLine(pool.workers().get(0).pid());
            assertFalse(command.contains("ArchiveClassesAtExit") || command.contains("SharedArchiveFile"), command);
            pool.submitTask("fault", Map.of("fault", "none")).await(Duration.ofSeconds(20));
        }
    }

    @Test
    void aStaleHalfWrittenDumpIsRemovedWhenAPoolStarts(@TempDir Path dir) throws Exception {
        Path cache = Files.createDirectory(dir.resolve("cache"),
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        Path logs = Files.createDirectory(dir.resolve("logs"));
        // what a host killed while its worker dumped leaves: 6 MB without a header, from long ago
        Path stale = Files.write(cache.resolve("worker-0123456789abcdef01234567.3f1e2d3c4b5a-4242-1700000000000."
                + "9b2f8c1e-2a4d-4c6b-8e0f-1a2b3c4d5e6f.tmp"), new byte[6_000_000]);
        Files.setLastModifiedTime(stale, java.nio.file.attribute.FileTime.from(Instant.now().minusSeconds(3600)));

        try (WorkerPool pool = pool(cache, jarClasspath(), logs)) {
            assertEquals(1, attemptOf(pool));
            assertFalse(Files.exists(stale));
        }
    }
}
