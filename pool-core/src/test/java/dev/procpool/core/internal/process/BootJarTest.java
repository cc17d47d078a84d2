package dev.procpool.core.internal.process;

import dev.procpool.core.internal.process.WorkerClasspathTest.FakeBootJar;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.jar.JarFile;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class BootJarTest {

    private static BootJar boot(Path dir, List<String> libraries) throws IOException {
        return BootJar.read(FakeBootJar.write(dir.resolve("app.jar"), libraries)).orElseThrow();
    }

    @Test
    void extractsTheClassesIntoOneJarAndTheLibrariesInClassPathOrderIntoAPrivateFolder(@TempDir Path dir)
            throws IOException {
        BootJar boot = boot(dir, List.of("two.jar", "one.jar"));
        Path cache = dir.resolve("cache");

        List<Path> classPath = boot.extract(cache);

        Path target = classPath.get(0).getParent();
        assertEquals(cache, target.getParent());
        assertEquals(List.of(target.resolve("classes.jar"), target.resolve("lib/two.jar"), target.resolve("lib/one.jar")),
                classPath);
        assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(cache)));
        assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(target)));
        try (JarFile classes = new JarFile(classPath.get(0).toFile())) {
            assertArrayEquals(new byte[] {(byte) 0xCA, (byte) 0xFE},
                    classes.getInputStream(classes.getEntry(FakeBootJar.CLASS_ENTRY)).readAllBytes());
            assertNotNull(classes.getEntry("application.yml"), "resources come along");
            assertEquals(null, classes.getEntry("org/springframework/boot/loader/launch/PropertiesLauncher.class"),
                    "Boot's loader is not needed on a plain class path");
        }
        assertArrayEquals(FakeBootJar.libraryBytes("one.jar"), Files.readAllBytes(classPath.get(2)));
        try (var files = Files.list(cache)) {
            assertEquals(1, files.count(), "no temporary folder is left");
        }
    }

    @Test
    void aSecondExtractionReusesTheFirstAndRepairsOneWhoseFilesWereRemoved(@TempDir Path dir) throws IOException {
        BootJar boot = boot(dir, List.of("one.jar"));
        Path cache = dir.resolve("cache");
        List<Path> first = boot.extract(cache);
        Object written = Files.readAttributes(first.get(0), "unix:ino").get("ino");

        assertEquals(first, boot.extract(cache));
        assertEquals(first, BootJar.read(boot.jar()).orElseThrow().extract(cache), "another host reuses it too");
        assertEquals(written, Files.readAttributes(first.get(0), "unix:ino").get("ino"), "not written again");

        Files.delete(first.get(1)); // a temporary-file cleaner took a library
        assertEquals(first, boot.extract(cache));
        assertTrue(Files.isRegularFile(first.get(1)));
    }

    @Test
    void aRebuiltJarGetsItsOwnExtractionAndOnesUnusedForAWeekAreDeleted(@TempDir Path dir) throws IOException {
        Path cache = dir.resolve("cache");
        Path old = boot(dir, List.of("one.jar")).extract(cache).get(0).getParent();
        Files.setLastModifiedTime(old, FileTime.from(Instant.now().minus(Duration.ofDays(8))));
        Path recent = Files.createDirectory(cache.resolve("boot-0123456789abcdef01234567"), PrivateDirectory.ownerOnly());
        Path unrelated = Files.createDirectory(cache.resolve("worker-archives"));
        Files.setLastModifiedTime(unrelated, FileTime.from(Instant.now().minus(Duration.ofDays(30))));

        Path rebuilt = boot(dir, List.of("one.jar", "two.jar")).extract(cache).get(0).getParent();

        assertFalse(rebuilt.equals(old));
        assertFalse(Files.exists(old), "unused for 8 days");
        assertTrue(Files.exists(recent));
        assertTrue(Files.exists(unrelated), "only its own extractions are evicted");
    }

    @Test
    void aCacheDirectoryOthersCanWriteIsRefusedAndBootsLauncherRemains(@TempDir Path dir) throws IOException {
        BootJar boot = boot(dir, List.of("one.jar"));
        Path shared = Files.createDirectory(dir.resolve("shared"));
        Files.setPosixFilePermissions(shared, PosixFilePermissions.fromString("rwxrwxrwx"));

        IOException e = assertThrows(IOException.class, () -> boot.extract(shared));

        assertTrue(e.getMessage().contains("mode 0700"), e.getMessage());
        try (var files = Files.list(shared)) {
            assertEquals(0, files.count(), "nothing written there");
        }
        assertEquals(List.of("-cp", boot.jar().toString(), "-Dloader.main=x.Main",
                "org.springframework.boot.loader.launch.PropertiesLauncher"), boot.launcherArguments("x.Main").orElseThrow());
    }

    @Test
    void aLibraryEntryCannotNameAPathOutsideTheExtraction(@TempDir Path dir) throws IOException {
        BootJar boot = boot(dir, List.of(".."));

        assertThrows(IllegalArgumentException.class, () -> boot.extract(dir.resolve("cache")));
    }

    @Test
    void aJarWithoutBootsManifestIsNotOne(@TempDir Path dir) throws IOException {
        Path plain = dir.resolve("plain.jar");
        try (var out = new java.util.jar.JarOutputStream(Files.newOutputStream(plain))) {
            out.flush();
        }
        assertTrue(BootJar.read(plain).isEmpty());
    }
}
