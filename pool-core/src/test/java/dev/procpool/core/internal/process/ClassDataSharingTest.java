package dev.procpool.core.internal.process;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The tidying of the archive directory, on made-up files; ClassDataSharingIT runs real JVMs. */
class ClassDataSharingTest {
    private static final Instant NOW = Instant.parse("2025-06-01T12:00:00Z");
    private static final String OTHER_MACHINE = "0123456789ab";

    @TempDir
    Path dir;
    private Path cache;
    private Path jar;
    private ClassDataSharing cds;

    @BeforeEach
    void setUp() throws IOException {
        cache = Files.createDirectory(dir.resolve("cache"),
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        jar = Files.writeString(dir.resolve("app.jar"), "not really a jar; only its name and size matter here");
        cds = new ClassDataSharing(cache, Clock.fixed(NOW, ZoneOffset.UTC));
    }

    private static String key(int n) {
        return String.format("%024x", n);
    }

    private Path file(String name, Duration age) throws IOException {
        Path file = Files.write(cache.resolve(name), new byte[1000]);
        Files.setLastModifiedTime(file, FileTime.from(NOW.minus(age)));
        return file;
    }

    private Path temporary(String writerTag, Duration age) throws IOException {
        return file("worker-" + key(1) + "." + writerTag + "." + UUID.randomUUID() + ".tmp", age);
    }

    private Set<String> names() throws IOException {
        try (Stream<Path> files = Files.list(cache)) {
            return files.map(p -> p.getFileName().toString()).collect(Collectors.toSet());
        }
    }

    private List<String> startAPool() {
        return cds.optionsFor("w-1", "/usr/bin/java", List.of("-Xshare:auto"), jar.toString(), List.of("H"));
    }

    @Test
    void at_start_a_stale_temporary_file_is_removed_and_a_fresh_one_kept() throws IOException {
        Path stale = temporary(OTHER_MACHINE + "-77-1700000000000", Duration.ofMinutes(11));
        Path fresh = temporary(OTHER_MACHINE + "-77-1700000000000", Duration.ofMinutes(9));
        // a name from before writers were named: judged by age alone
        Path staleUnnamed = file("worker-" + key(2) + "." + UUID.randomUUID() + ".tmp", Duration.ofHours(3));
        Path freshUnnamed = file("worker-" + key(3) + "." + UUID.randomUUID() + ".tmp", Duration.ofSeconds(5));

        startAPool();

        assertFalse(Files.exists(stale));
        assertTrue(Files.exists(fresh), "a writer on another machine may still be writing it");
        assertFalse(Files.exists(staleUnnamed));
        assertTrue(Files.exists(freshUnnamed));
    }

    @Test
    void a_fresh_temporary_file_of_a_writer_of_this_machine_that_is_gone_is_removed() throws Exception {
        String machine = ClassDataSharing.Writer.current().machine();
        Process gone = new ProcessBuilder("sleep", "60").start();
        long startMillis = gone.toHandle().info().startInstant().orElseThrow().toEpochMilli();
        gone.destroyForcibly();
        assertTrue(gone.waitFor(20, TimeUnit.SECONDS));
        Path ofADeadWriter = temporary(machine + "-" + gone.pid() + "-" + startMillis, Duration.ZERO);
        // our own pid, but another start time: the pid was reused, the writer is gone
        long self = ProcessHandle.current().pid();
        Path ofAReusedPid = temporary(machine + "-" + self + "-12345", Duration.ZERO);
        Path ofALiveWriter = temporary(ClassDataSharing.Writer.current().tag(), Duration.ZERO);

        startAPool();

        assertFalse(Files.exists(ofADeadWriter));
        assertFalse(Files.exists(ofAReusedPid));
        assertTrue(Files.exists(ofALiveWriter), "its writer is alive");
    }

    @Test
    void only_the_pools_own_files_are_touched() throws IOException {
        Path notOurs = file("notes.tmp", Duration.ofDays(400));
        Path almost = file("worker-" + key(1) + ".jsa.tmp", Duration.ofDays(400));
        Path directory = Files.createDirectory(cache.resolve("worker-" + key(4) + ".jsa"));
        Files.setLastModifiedTime(directory, FileTime.from(NOW.minus(Duration.ofDays(400))));
        Path target = Files.write(dir.resolve("elsewhere"), new byte[1]);
        Path link = Files.createSymbolicLink(cache.resolve("worker-" + key(5) + ".jsa"), target);

        startAPool();

        assertTrue(Files.exists(notOurs));
        assertTrue(Files.exists(almost));
        assertTrue(Files.isDirectory(directory));
        assertTrue(Files.exists(link, LinkOption.NOFOLLOW_LINKS));
        assertTrue(Files.exists(target));
    }

    @Test
    void eviction_keeps_the_most_recently_used_archives() throws IOException {
        int archives = ClassDataSharing.MAX_ARCHIVES + 3;
        for (int i = 0; i < archives; i++) {
            file("worker-" + key(100 + i) + ".jsa", Duration.ofHours(i)); // key(100) is the newest
        }

        cds.evictArchives();

        Set<String> expected = new java.util.HashSet<>();
        for (int i = 0; i < ClassDataSharing.MAX_ARCHIVES; i++) {
            expected.add("worker-" + key(100 + i) + ".jsa");
        }
        assertEquals(expected, names());
    }

    @Test
    void an_archive_unused_for_longer_than_the_bound_is_removed() throws IOException {
        Path used = file("worker-" + key(1) + ".jsa", ClassDataSharing.MAX_ARCHIVE_IDLE.minusHours(1));
        Path idle = file("worker-" + key(2) + ".jsa", ClassDataSharing.MAX_ARCHIVE_IDLE.plusHours(1));

        startAPool();

        assertTrue(Files.exists(used));
        assertFalse(Files.exists(idle));
    }

    @Test
    void using_an_archive_makes_it_the_most_recently_used() throws IOException {
        List<String> firstOptions = startAPool();
        assertEquals(1, firstOptions.size());
        String temporary = firstOptions.get(0).substring("-XX:ArchiveClassesAtExit=".length());
        writeCompleteArchive(Path.of(temporary));
        cds.workerExited("w-1");
        Path archive;
        try (Stream<Path> files = Files.list(cache)) {
            archive = files.filter(p -> p.toString().endsWith(".jsa")).findFirst().orElseThrow();
        }
        Files.setLastModifiedTime(archive, FileTime.from(NOW.minus(Duration.ofDays(20))));
        for (int i = 0; i < ClassDataSharing.MAX_ARCHIVES; i++) {
            file("worker-" + key(100 + i) + ".jsa", Duration.ofDays(1)); // newer than it
        }

        List<String> options = cds.optionsFor("w-2", "/usr/bin/java", List.of("-Xshare:auto"), jar.toString(),
                List.of("H"));
        assertEquals(List.of("-XX:SharedArchiveFile=" + archive), options);
        assertEquals(NOW, Files.getLastModifiedTime(archive).toInstant());
        cds.evictArchives();

        assertTrue(Files.exists(archive), "used just now: kept");
        assertEquals(ClassDataSharing.MAX_ARCHIVES, names().size());
    }

    @Test
    void a_complete_dump_becomes_a_private_archive() throws IOException {
        String option = startAPool().get(0);
        assertTrue(option.startsWith("-XX:ArchiveClassesAtExit="), option);
        Path temporary = Path.of(option.substring("-XX:ArchiveClassesAtExit=".length()));
        assertTrue(temporary.getFileName().toString().contains("." + ClassDataSharing.Writer.current().tag() + "."),
                "the temporary file names its writer: " + temporary);
        writeCompleteArchive(temporary);

        cds.workerExited("w-1");

        assertEquals(Set.of("worker-" + temporary.getFileName().toString().substring(7, 31) + ".jsa"), names());
        Path archive = cache.resolve(names().iterator().next());
        assertEquals("r--------", PosixFilePermissions.toString(Files.getPosixFilePermissions(archive)));
    }

    @Test
    void a_dump_cut_short_is_dropped_not_kept_as_an_archive() throws IOException {
        Path temporary = Path.of(startAPool().get(0).substring("-XX:ArchiveClassesAtExit=".length()));
        // the JVM writes the header last: a dump killed half-way has the regions but a zero header
        byte[] partial = new byte[6 << 20];
        partial[70_000] = 42;
        Files.write(temporary, partial);

        cds.workerExited("w-1");

        assertEquals(Set.of(), names());
        // and the next worker dumps again
        assertTrue(cds.optionsFor("w-2", "/usr/bin/java", List.of("-Xshare:auto"), jar.toString(), List.of("H"))
                .get(0).startsWith("-XX:ArchiveClassesAtExit="));
    }

    /** The start of a real dynamic archive's header, then some content. */
    private static void writeCompleteArchive(Path file) throws IOException {
        byte[] bytes = new byte[4096];
        bytes[0] = (byte) 0xa8;
        bytes[1] = (byte) 0xab;
        bytes[2] = 0x0b;
        bytes[3] = (byte) 0xf0;
        Files.write(file, bytes);
    }
}
