package dev.procpool.core.internal.process;

import dev.procpool.core.internal.text.Units;
import dev.procpool.core.internal.Loggers;
import org.slf4j.Logger;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Class-data-sharing archives for Java workers. The first worker of a given command dumps the classes it loaded
 * into an archive when it exits ({@code -XX:ArchiveClassesAtExit}); later workers map it
 * ({@code -XX:SharedArchiveFile}) and start in about half the time. Archives live in a private directory and are
 * checked before use (owner, permissions, size); the JVM itself refuses an archive that does not match its JDK or
 * classpath and then starts without it.
 *
 * <p>The directory stays tidy though several hosts may share it and any of them may die at any moment:
 * <ul>
 *   <li>A dump goes to a temporary file whose name carries its writer: the host process (pid and start time) and
 *   the machine and pid namespace it runs in. It becomes the archive only when complete: the JVM writes an
 *   archive's header, with its magic number, after everything else, so a dump cut short has none and is dropped.</li>
 *   <li>When a pool starts, temporary files are removed that are older than {@link #STALE_TEMPORARY_AGE} (a dump
 *   takes about a second), or whose writer is a process of this machine and pid namespace that is gone. A writer
 *   elsewhere is judged by age only.</li>
 *   <li>At most {@link #MAX_ARCHIVES} archives are kept, the most recently used; one unused for
 *   {@link #MAX_ARCHIVE_IDLE} is removed. An archive's modification time is its last use. Removing an archive a
 *   running worker maps is harmless (the kernel keeps the file until it is unmapped), and a worker launched with
 *   it after it is gone starts without it.</li>
 * </ul>
 */
public final class ClassDataSharing {
    private static final Logger LOG = Loggers.pool();
    private static final Set<PosixFilePermission> OWNER_ONLY = PosixFilePermissions.fromString("rwx------");

    /** The most archives kept in a directory, the most recently used. */
    public static final int MAX_ARCHIVES = 8;
    /** An archive unused for this long is removed. */
    public static final Duration MAX_ARCHIVE_IDLE = Duration.ofDays(30);
    /** A temporary file older than this is stale, whoever wrote it. */
    public static final Duration STALE_TEMPORARY_AGE = Duration.ofMinutes(10);
    /** The use of an archive is recorded (its modification time set) at most this often. */
    private static final Duration USE_RECORDING_STEP = Duration.ofHours(1);

    /** The first four bytes of a complete dynamic archive: the magic 0xf00baba8, little-endian. */
    private static final byte[] DYNAMIC_ARCHIVE_MAGIC = {(byte) 0xa8, (byte) 0xab, 0x0b, (byte) 0xf0};
    private static final Pattern ARCHIVE = Pattern.compile("worker-[0-9a-f]{24}\\.jsa");
    /** {@code worker-<key>.<machine>-<pid>-<start millis>.<random>.tmp}. */
    private static final Pattern TEMPORARY =
            Pattern.compile("worker-[0-9a-f]{24}\\.(?:([0-9a-f]{12})-([0-9]+)-([0-9]+)\\.)?[0-9a-f-]{36}\\.tmp");
    private static final Writer THIS_PROCESS = Writer.current();

    /** Archive keys being dumped right now, to the temporary file named here; one dumper per key. */
    private static final Map<String, Path> DUMPING = new ConcurrentHashMap<>();
    /** Worker id → the archive it dumps. */
    private final Map<String, Dump> dumps = new ConcurrentHashMap<>();
    private final Path directory;
    private final Clock clock;
    private volatile boolean swept;

    private record Dump(String key, Path temporary, Path archive) {
    }

    public ClassDataSharing(Path directory) {
        this(directory, Clock.systemUTC());
    }

    ClassDataSharing(Path directory, Clock clock) {
        this.directory = directory;
        this.clock = clock;
    }

    /**
     * The JVM options that give this worker an archive: map an existing one, or dump a new one at exit. Empty
     * when class-data sharing cannot apply (a classpath entry is not a jar, or the directory is not private).
     */
    public List<String> optionsFor(String workerId, String javaExecutable, List<String> jvmOptions,
                                   String classpath, List<String> handlers) {
        if (classpath.isEmpty() || !jarsOnly(classpath) || !privateDirectory()) {
            return List.of();
        }
        if (!swept) {
            swept = true;
            sweep();
        }
        String key = key(javaExecutable, jvmOptions, classpath, handlers);
        Path archive = directory.resolve("worker-" + key + ".jsa");
        if (usable(archive)) {
            recordUse(archive);
            return List.of("-XX:SharedArchiveFile=" + archive);
        }
        Path temporary = directory.resolve("worker-" + key + "." + THIS_PROCESS.tag() + "." + UUID.randomUUID()
                + ".tmp");
        if (DUMPING.putIfAbsent(key, temporary) != null) {
            return List.of(); // another worker is making it
        }
        dumps.put(workerId, new Dump(key, temporary, archive));
        return List.of("-XX:ArchiveClassesAtExit=" + temporary);
    }

    /** A worker exited: if it was dumping an archive, keep the archive when it is complete. */
    public void workerExited(String workerId) {
        Dump dump = dumps.remove(workerId);
        if (dump == null) {
            return;
        }
        try {
            if (complete(dump.temporary())) {
                Files.setPosixFilePermissions(dump.temporary(), PosixFilePermissions.fromString("r--------"));
                Files.move(dump.temporary(), dump.archive(), StandardCopyOption.ATOMIC_MOVE,
                        StandardCopyOption.REPLACE_EXISTING);
                LOG.debug("class-data-sharing archive ready: {}", dump.archive());
                evictArchives();
            } else {
                Files.deleteIfExists(dump.temporary());
            }
        } catch (IOException | UnsupportedOperationException e) {
            LOG.debug("cannot keep the class-data-sharing archive {}: {}", dump.archive(), e.toString());
        } finally {
            DUMPING.remove(dump.key(), dump.temporary());
        }
    }

    /** Whether a dump was written to the end: the JVM writes the header, and its magic, last. */
    private static boolean complete(Path temporary) throws IOException {
        if (!Files.isRegularFile(temporary, LinkOption.NOFOLLOW_LINKS)) {
            return false;
        }
        byte[] head = new byte[DYNAMIC_ARCHIVE_MAGIC.length];
        try (InputStream in = Files.newInputStream(temporary, LinkOption.NOFOLLOW_LINKS)) {
            if (in.readNBytes(head, 0, head.length) < head.length) {
                return false;
            }
        }
        if (!java.util.Arrays.equals(head, DYNAMIC_ARCHIVE_MAGIC)) {
            LOG.debug("dropping the class-data-sharing dump {}: it was not written to the end", temporary);
            return false;
        }
        return true;
    }

    // ------------------------------------------------------------------ tidying the directory

    /** At start: removes stale temporary files, then archives beyond the bounds. */
    void sweep() {
        Instant now = clock.instant();
        int removed = 0;
        long bytes = 0;
        for (Path file : files(TEMPORARY)) {
            if (DUMPING.containsValue(file)) {
                continue; // this JVM is writing it
            }
            Optional<BasicFileAttributes> attributes = attributes(file);
            if (attributes.isEmpty()) {
                continue;
            }
            Instant modified = attributes.get().lastModifiedTime().toInstant();
            Matcher name = TEMPORARY.matcher(file.getFileName().toString());
            boolean stale = Duration.between(modified, now).compareTo(STALE_TEMPORARY_AGE) > 0
                    || name.matches() && name.group(1) != null && THIS_PROCESS.sameMachineAs(name.group(1))
                    && !Writer.alive(Long.parseLong(name.group(2)), Long.parseLong(name.group(3)));
            if (stale && delete(file)) {
                removed++;
                bytes += attributes.get().size();
            }
        }
        if (removed > 0) {
            LOG.info("removed {} stale class-data-sharing temporary files ({}) from {}", removed,
                    Units.bytes(bytes), directory);
        }
        evictArchives();
    }

    /** Keeps the {@link #MAX_ARCHIVES} most recently used archives, none unused for {@link #MAX_ARCHIVE_IDLE}. */
    void evictArchives() {
        Instant now = clock.instant();
        List<Map.Entry<Path, BasicFileAttributes>> archives = new ArrayList<>();
        for (Path file : files(ARCHIVE)) {
            attributes(file).ifPresent(a -> archives.add(Map.entry(file, a)));
        }
        archives.sort(Comparator.comparing((Map.Entry<Path, BasicFileAttributes> e) -> e.getValue()
                .lastModifiedTime()).reversed());
        int removed = 0;
        long bytes = 0;
        for (int i = 0; i < archives.size(); i++) {
            Instant lastUse = archives.get(i).getValue().lastModifiedTime().toInstant();
            boolean idle = Duration.between(lastUse, now).compareTo(MAX_ARCHIVE_IDLE) > 0;
            if ((i >= MAX_ARCHIVES || idle) && delete(archives.get(i).getKey())) {
                removed++;
                bytes += archives.get(i).getValue().size();
            }
        }
        if (removed > 0) {
            LOG.info("removed {} class-data-sharing archives ({}) from {}: at most {} are kept, none unused for {}",
                    removed, Units.bytes(bytes), directory, MAX_ARCHIVES, Units.duration(MAX_ARCHIVE_IDLE));
        }
    }

    /** Marks an archive as just used, so that eviction keeps it; at most once per {@link #USE_RECORDING_STEP}. */
    private void recordUse(Path archive) {
        try {
            Instant now = clock.instant();
            FileTime modified = Files.getLastModifiedTime(archive, LinkOption.NOFOLLOW_LINKS);
            if (Duration.between(modified.toInstant(), now).compareTo(USE_RECORDING_STEP) > 0) {
                Files.setLastModifiedTime(archive, FileTime.from(now));
            }
        } catch (IOException | RuntimeException e) {
            LOG.debug("cannot record the use of {}: {}", archive, e.toString());
        }
    }

    /** Our regular files in the directory whose names match; never links, never anything else. */
    private List<Path> files(Pattern names) {
        List<Path> found = new ArrayList<>();
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(directory,
                p -> names.matcher(p.getFileName().toString()).matches())) {
            for (Path entry : entries) {
                if (Files.isRegularFile(entry, LinkOption.NOFOLLOW_LINKS)) {
                    found.add(entry);
                }
            }
        } catch (IOException | RuntimeException e) {
            LOG.debug("cannot list {}: {}", directory, e.toString());
        }
        return found;
    }

    private static Optional<BasicFileAttributes> attributes(Path file) {
        try {
            return Optional.of(Files.readAttributes(file, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS));
        } catch (IOException e) {
            return Optional.empty(); // removed by another host meanwhile
        }
    }

    private static boolean delete(Path file) {
        try {
            return Files.deleteIfExists(file);
        } catch (IOException e) {
            LOG.debug("cannot remove {}: {}", file, e.toString());
            return false;
        }
    }

    // ------------------------------------------------------------------ checks

    private static boolean jarsOnly(String classpath) {
        for (String entry : classpath.split(java.io.File.pathSeparator)) {
            if (!entry.endsWith(".jar") || !Files.isRegularFile(Path.of(entry))) {
                return false;
            }
        }
        return true;
    }

    /** Creates the directory (0700) if missing; true only if it is ours and closed to others. */
    private boolean privateDirectory() {
        boolean ok = PrivateDirectory.prepare(directory);
        if (!ok) {
            LOG.warn("not using {} for class-data-sharing archives: it must be a directory owned by {} with mode "
                    + "0700", directory, System.getProperty("user.name"));
        }
        return ok;
    }

    private static boolean usable(Path archive) {
        try {
            return Files.isRegularFile(archive, LinkOption.NOFOLLOW_LINKS) && Files.size(archive) > 0
                    && Files.getOwner(archive, LinkOption.NOFOLLOW_LINKS).getName()
                    .equals(System.getProperty("user.name"))
                    && Files.getPosixFilePermissions(archive, LinkOption.NOFOLLOW_LINKS).stream()
                    .noneMatch(p -> p == PosixFilePermission.GROUP_WRITE || p == PosixFilePermission.OTHERS_WRITE);
        } catch (IOException | UnsupportedOperationException e) {
            return false;
        }
    }

    private static String key(String javaExecutable, List<String> jvmOptions, String classpath,
                              List<String> handlers) {
        try {
            MessageDigest digest = MessageDigest.getInstance("SHA-256");
            for (String part : List.of(javaExecutable, System.getProperty("java.vm.version", ""),
                    String.join("\u0000", jvmOptions), classpath, String.join("\u0000", handlers))) {
                digest.update(part.getBytes(StandardCharsets.UTF_8));
                digest.update((byte) 0);
            }
            // jar contents change without their paths changing: include sizes and times
            for (String entry : classpath.split(java.io.File.pathSeparator)) {
                Path jar = Path.of(entry);
                digest.update((Files.size(jar) + ":" + Files.getLastModifiedTime(jar).toMillis())
                        .getBytes(StandardCharsets.UTF_8));
            }
            return HexFormat.of().formatHex(digest.digest(), 0, 12);
        } catch (NoSuchAlgorithmException | IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * A process that writes temporary files: its pid and start time, and its machine (boot id and pid namespace,
     * hashed), without which a pid means nothing to another host sharing the directory.
     */
    record Writer(String machine, long pid, long startMillis) {
        static Writer current() {
            ProcessHandle self = ProcessHandle.current();
            return new Writer(machineId(), self.pid(), startMillis(self));
        }

        String tag() {
            return machine + "-" + pid + "-" + startMillis;
        }

        /** Whether a writer of that tag runs in this machine and pid namespace, where its pid can be checked. */
        boolean sameMachineAs(String otherMachine) {
            return !machine.equals(UNKNOWN_MACHINE) && machine.equals(otherMachine);
        }

        /** Whether the process with this pid runs and is the one that started at this time (pids are reused). */
        static boolean alive(long pid, long startMillis) {
            Optional<ProcessHandle> process = ProcessHandle.of(pid);
            return process.isPresent() && process.get().isAlive() && startMillis(process.get()) == startMillis;
        }

        private static long startMillis(ProcessHandle process) {
            return process.info().startInstant().map(Instant::toEpochMilli).orElse(0L);
        }

        private static final String UNKNOWN_MACHINE = "000000000000";

        private static String machineId() {
            try {
                String bootId = Files.readString(Path.of("/proc/sys/kernel/random/boot_id")).trim();
                String pidNamespace = Files.readSymbolicLink(Path.of("/proc/self/ns/pid")).toString();
                byte[] hash = MessageDigest.getInstance("SHA-256")
                        .digest((bootId + "\u0000" + pidNamespace).getBytes(StandardCharsets.UTF_8));
                return HexFormat.of().formatHex(hash, 0, 6);
            } catch (IOException | NoSuchAlgorithmException | RuntimeException e) {
                return UNKNOWN_MACHINE; // judged by age only
            }
        }
    }
}
