package dev.procpool.packaging;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The same host, packaged each way Java applications ship, runs as its own JVM with a pool of Java workers on their
 * default class path: every packaging gets its results, and leaves no worker behind.
 */
class PackagingIT {
    private static final Path MODULE = Path.of("").toAbsolutePath();
    private static final Path TARGET = MODULE.resolve("target");
    private static final String MAIN = "dev.procpool.packaging.PackagedHost";

    private static String version;
    private static Path hostJar;

    @BeforeAll
    static void artifacts() throws IOException {
        try (Stream<Path> files = Files.list(TARGET)) {
            hostJar = files.filter(p -> p.getFileName().toString().matches("pool-packaging-tests-.*-SNAPSHOT\\.jar"))
                    .findFirst().orElseThrow(() -> new IllegalStateException("run mvn package first: no host jar in "
                            + TARGET));
        }
        version = hostJar.getFileName().toString().replace("pool-packaging-tests-", "").replace(".jar", "");
    }

    private static Path artifact(String classifier) {
        return TARGET.resolve("pool-packaging-tests-" + version + "-" + classifier + ".jar");
    }

    /** The dependencies the build copied for the module path; the same jars serve a class path. */
    private static List<Path> dependencies() throws IOException {
        try (Stream<Path> jars = Files.list(TARGET.resolve("modules"))) {
            return jars.sorted().toList();
        }
    }

    private static String path(List<Path> entries) {
        return entries.stream().map(Path::toString).collect(Collectors.joining(File.pathSeparator));
    }

    /** Host options: the cache directory, and the fast-start worker options the build gives tests. */
    private static String[] options(Path cache, String... more) {
        List<String> options = new ArrayList<>(List.of("--cache", cache.toString()));
        String workerOptions = System.getProperty("procpool.it.workerJvmOptions", "");
        for (String option : workerOptions.trim().split("\\s+")) {
            if (!option.isEmpty()) {
                options.addAll(List.of("--jvm-option", option));
            }
        }
        options.addAll(Arrays.asList(more));
        return options.toArray(String[]::new);
    }

    private static String[] concat(String[] first, String... second) {
        return Stream.concat(Arrays.stream(first), Arrays.stream(second)).toArray(String[]::new);
    }

    /** Every task's result came back from the two workers, the pool closed, and no worker is left. */
    private static HostRun assertServed(HostRun run) {
        assertEquals(0, run.exitCode(), run.toString());
        List<String> results = run.tagged("RESULT");
        assertEquals(3, results.size(), run.toString());
        assertTrue(results.get(0).contains("\"text\":\"ALPHA\""), run.toString());
        assertTrue(results.get(1).contains("\"text\":\"BETA\""), run.toString());
        assertEquals("\"gamma\"", results.get(2), run.toString());
        assertEquals(2, run.workers().size(), run.toString());
        assertTrue(run.lines().contains("CLOSED"), run.toString());
        run.assertNoWorkerLeft();
        return run;
    }

    @Test
    void aClassPathOfFoldersAndJars(@TempDir Path cache) throws Exception {
        List<Path> classPath = new ArrayList<>(List.of(TARGET.resolve("classes")));
        classPath.addAll(dependencies());

        HostRun run = assertServed(HostRun.of(HostRun.java(concat(new String[] {"-cp", path(classPath), MAIN},
                options(cache))), MODULE));

        assertTrue(run.tagged("RESULT").get(0).contains("\"module\":\"null\""), run.toString());
        String worker = run.workers().get(0).commandLine();
        assertTrue(worker.contains("-cp " + TARGET.resolve("classes").toRealPath() + File.pathSeparator), worker);
        assertFalse(worker.contains("ArchiveClassesAtExit"), "class-data sharing needs jars only: " + worker);
    }

    @Test
    void aClassPathOfJarsGivenRelativeWhileWorkersRunElsewhereAndTheirClassDataArchive(@TempDir Path dir)
            throws Exception {
        Path cache = dir.resolve("cache");
        Path elsewhere = Files.createDirectory(dir.resolve("elsewhere"));
        List<Path> classPath = new ArrayList<>(List.of(MODULE.relativize(hostJar)));
        dependencies().forEach(jar -> classPath.add(MODULE.relativize(jar)));
        // -Xshare:on: a worker JVM refuses to start unless it really maps the archive it is given
        String[] host = concat(new String[] {"-cp", path(classPath), MAIN}, options(cache, "--worker-dir",
                elsewhere.toString(), "--jvm-option", "-Xshare:on"));

        HostRun first = assertServed(HostRun.of(HostRun.java(host), MODULE));
        assertTrue(first.workers().stream().anyMatch(w -> w.commandLine().contains("-XX:ArchiveClassesAtExit=")),
                first.toString());

        HostRun second = assertServed(HostRun.of(HostRun.java(host), MODULE));
        assertTrue(second.workers().stream().allMatch(w -> w.commandLine().contains("-XX:SharedArchiveFile=")),
                second.toString());
    }

    @Test
    void anUberJarRunWithJavaJar(@TempDir Path dir) throws Exception {
        Path elsewhere = Files.createDirectory(dir.resolve("elsewhere"));

        HostRun run = assertServed(HostRun.of(HostRun.java(concat(new String[] {"-jar",
                MODULE.relativize(artifact("shaded")).toString()}, options(dir.resolve("cache"), "--worker-dir",
                elsewhere.toString()))), MODULE));

        String worker = run.workers().get(0).commandLine();
        assertTrue(worker.contains("-cp " + artifact("shaded").toRealPath() + " "), worker);
    }

    @Test
    void aSpringBootExecutableJarIsExtractedOnceAndItsWorkersUseAClassDataArchive(@TempDir Path dir)
            throws Exception {
        Path cache = dir.resolve("cache");
        // -Xshare:on: a worker JVM refuses to start unless it really maps the archive it is given
        String[] host = concat(new String[] {"-jar", artifact("boot").toString()}, options(cache, "--jvm-option",
                "-Xshare:on"));

        HostRun first = assertServed(HostRun.of(HostRun.java(host), MODULE));

        String result = first.tagged("RESULT").get(0);
        assertTrue(result.contains("\"loader\":\"jdk.internal.loader.ClassLoaders$AppClassLoader\""), result);
        Path extraction;
        try (Stream<Path> folders = Files.list(cache)) {
            extraction = folders.filter(p -> p.getFileName().toString().matches("boot-[0-9a-f]{24}")).findFirst()
                    .orElseThrow(() -> new AssertionError("no extraction in " + cache));
        }
        assertTrue(result.contains("\"classPath\":\"" + extraction.toRealPath().resolve("classes.jar")
                + File.pathSeparator), result);
        assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(extraction)));

        HostRun second = assertServed(HostRun.of(HostRun.java(host), MODULE));
        assertTrue(second.workers().stream().allMatch(w -> w.commandLine().contains("-XX:SharedArchiveFile=")),
                second.toString());
        assertFalse(second.lines().stream().anyMatch(l -> l.contains("extracted")), "extracted once: " + second);
    }

    @Test
    void aSpringBootJarWhoseCacheDirectoryOthersCanWriteRunsWorkersThroughBootsLauncher(@TempDir Path dir)
            throws Exception {
        Path shared = Files.createDirectory(dir.resolve("shared"));
        Files.setPosixFilePermissions(shared, PosixFilePermissions.fromString("rwxrwxrwx"));

        HostRun run = assertServed(HostRun.of(HostRun.java(concat(new String[] {"-jar",
                artifact("boot").toString()}, options(shared))), MODULE));

        String result = run.tagged("RESULT").get(0);
        assertTrue(result.contains("\"loader\":\"org.springframework.boot.loader.launch.LaunchedClassLoader\""),
                result);
        assertTrue(run.lines().stream().anyMatch(l -> l.contains("WARN") && l.contains("Boot's launcher")),
                run.toString());
        try (Stream<Path> files = Files.list(shared)) {
            assertEquals(0, files.count(), "nothing was written where others can write");
        }
    }

    @Test
    void aModulePathApplicationRunsItsWorkersAsModules(@TempDir Path cache) throws Exception {
        List<Path> modulePath = new ArrayList<>(List.of(TARGET.resolve("modules")));
        modulePath.add(hostJar);

        HostRun run = assertServed(HostRun.of(HostRun.java(concat(new String[] {"--module-path", path(modulePath),
                "-m", "dev.procpool.packaging/" + MAIN}, options(cache))), MODULE));

        String result = run.tagged("RESULT").get(0);
        assertTrue(result.contains("\"module\":\"dev.procpool.packaging\""), result);
        String worker = run.workers().get(0).commandLine();
        assertTrue(worker.contains("--add-modules dev.procpool.packaging --add-exports "
                + "dev.procpool.packaging/dev.procpool.packaging.internal=dev.procpool.core -m dev.procpool.core/"),
                worker);
    }

    @Test
    void aHostWhoseClassesComeFromItsOwnClassLoaderFailsAtOnceSayingWhatToSet(@TempDir Path cache)
            throws Exception {
        List<Path> jars = new ArrayList<>(List.of(hostJar));
        jars.addAll(dependencies());

        HostRun run = HostRun.of(HostRun.java(concat(new String[] {"-cp", TARGET.resolve("test-classes").toString(),
                IsolatingLauncher.class.getName(), path(jars)}, options(cache))), MODULE);

        assertEquals(3, run.exitCode(), run.toString());
        String[] failure = run.tagged("FAILED").get(0).split(" ", 3);
        assertEquals("0", failure[1], "no worker process was started: " + run);
        String message = failure[2];
        assertTrue(message.startsWith("Java workers of group \"default\" cannot be started: pool-core's worker "
                + "runtime (dev.procpool.core.internal.worker.WorkerMain) was loaded from "
                + TARGET.resolve("modules").toRealPath() + File.separator + "pool-core-"), message);
        assertTrue(message.contains("which is not on the host's class path. Found: class path "
                + TARGET.resolve("test-classes").toRealPath() + " (no Spring Boot jar)"), message);
        assertTrue(message.contains("WorkerSpec.java(…).withClasspath(…)"), message);
        assertTrue(message.length() < 600, message);
    }
}
