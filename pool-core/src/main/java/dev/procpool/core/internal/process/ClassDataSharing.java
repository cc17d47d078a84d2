package dev.procpool.core.internal.process;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Class-data-sharing archives for Java workers. The first worker of a given command dumps the classes it loaded
 * into an archive when it exits ({@code -XX:ArchiveClassesAtExit}); later workers map it
 * ({@code -XX:SharedArchiveFile}) and start in about half the time. Archives live in a private directory and are
 * checked before use (owner, permissions, size); the JVM itself refuses an archive that does not match its JDK or
 * classpath and then starts without it.
 */
public final class ClassDataSharing {
    private static final Logger LOG = LoggerFactory.getLogger(ClassDataSharing.class);
    private static final Set<PosixFilePermission> OWNER_ONLY = PosixFilePermissions.fromString("rwx------");

    /** Archive keys being dumped right now, to the temporary file named here; one dumper per key. */
    private static final Map<String, Path> DUMPING = new ConcurrentHashMap<>();
    /** Worker id → the archive it dumps. */
    private final Map<String, Dump> dumps = new ConcurrentHashMap<>();
    private final Path directory;

    private record Dump(String key, Path temporary, Path archive) {
    }

    public ClassDataSharing(Path directory) {
        this.directory = directory;
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
        String key = key(javaExecutable, jvmOptions, classpath, handlers);
        Path archive = directory.resolve("worker-" + key + ".jsa");
        if (usable(archive)) {
            return List.of("-XX:SharedArchiveFile=" + archive);
        }
        Path temporary = directory.resolve("worker-" + key + "." + UUID.randomUUID() + ".tmp");
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
            if (Files.isRegularFile(dump.temporary()) && Files.size(dump.temporary()) > 0) {
                Files.setPosixFilePermissions(dump.temporary(), PosixFilePermissions.fromString("r--------"));
                Files.move(dump.temporary(), dump.archive(), StandardCopyOption.ATOMIC_MOVE,
                        StandardCopyOption.REPLACE_EXISTING);
                LOG.debug("class-data-sharing archive ready: {}", dump.archive());
            } else {
                Files.deleteIfExists(dump.temporary());
            }
        } catch (IOException | UnsupportedOperationException e) {
            LOG.debug("cannot keep the class-data-sharing archive {}: {}", dump.archive(), e.toString());
        } finally {
            DUMPING.remove(dump.key(), dump.temporary());
        }
    }

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
        if (!FileSystems.getDefault().supportedFileAttributeViews().contains("posix")) {
            return false;
        }
        try {
            if (!Files.exists(directory, LinkOption.NOFOLLOW_LINKS)) {
                Files.createDirectories(directory, PosixFilePermissions.asFileAttribute(OWNER_ONLY));
            }
            boolean ok = Files.isDirectory(directory, LinkOption.NOFOLLOW_LINKS)
                    && Files.getOwner(directory, LinkOption.NOFOLLOW_LINKS).getName()
                    .equals(System.getProperty("user.name"))
                    && Files.getPosixFilePermissions(directory, LinkOption.NOFOLLOW_LINKS).equals(OWNER_ONLY);
            if (!ok) {
                LOG.warn("not using {} for class-data-sharing archives: it must be a directory owned by {} with mode "
                        + "0700", directory, System.getProperty("user.name"));
            }
            return ok;
        } catch (IOException | UnsupportedOperationException e) {
            LOG.debug("no class-data-sharing directory {}: {}", directory, e.toString());
            return false;
        }
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
}
