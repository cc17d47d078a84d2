package dev.procpool.core.internal.process;

import dev.procpool.core.internal.Loggers;
import org.slf4j.Logger;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.FileTime;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.jar.Attributes;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;
import java.util.jar.JarOutputStream;
import java.util.jar.Manifest;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;

/**
 * A Spring Boot executable jar on the host's class path: the application's classes sit in {@code BOOT-INF/classes}
 * and its libraries are jars nested in {@code BOOT-INF/lib}, which the JVM's own class loader cannot read.
 *
 * <p>A worker JVM gets them in one of two ways, measured on the 2-core build machine from a worker's launch to its
 * {@code ready} frame (medians of 15 runs; the packaging tests' {@code WorkerStartupMeasurementIT} has the command
 * and the spread), against a plain class path of the same jars in the same run (277 ms):
 * <ol>
 *   <li><b>Extracted once</b>, the default: the nested jars are copied, and {@code BOOT-INF/classes} packed into one
 *   jar, in a private (0700) folder of the pool's cache directory, keyed by the jar's path, size and time. Workers
 *   then run on a plain class path of jars: 263 ms (×0.95 of the plain class path), and class-data sharing applies:
 *   131 ms (×0.47). The extraction of a 4 MiB jar took 18 ms, once per build of the jar.</li>
 *   <li><b>Boot's {@code PropertiesLauncher}</b> with {@code -Dloader.main}, reading the nested jars in place: no
 *   files, but 495 ms (×1.79), and an archive helps less: 424 ms (×1.53), since Boot's class loader still reads
 *   every class file from its nested jar before the JVM can take the archived class. Used only when the cache
 *   directory is unusable (not private, not writable).</li>
 * </ol>
 */
final class BootJar {
    private static final Logger LOG = Loggers.pool();
    static final String CLASSES_JAR = "classes.jar";
    static final String LIBRARIES = "lib";
    private static final String PREFIX = "boot-";
    /** Extractions not used for this long are deleted when another one is made. */
    static final Duration UNUSED_EXTRACTION_AGE = Duration.ofDays(7);
    private static final Duration ABANDONED_TEMPORARY_AGE = Duration.ofDays(1);

    private final Path jar;
    private final String classesPrefix;
    private final List<String> libraries;
    private final String launcher;
    /** Cache directory → the class path extracted there. */
    private final Map<Path, List<Path>> extracted = new ConcurrentHashMap<>();
    private volatile List<Path> latest;

    private BootJar(Path jar, String classesPrefix, List<String> libraries, String launcher) {
        this.jar = jar;
        this.classesPrefix = classesPrefix;
        this.libraries = List.copyOf(libraries);
        this.launcher = launcher;
    }

    /** The jar as a Spring Boot executable jar, or empty if its manifest does not say it is one. */
    static Optional<BootJar> read(Path jar) throws IOException {
        try (JarFile file = new JarFile(jar.toFile())) {
            Manifest manifest = file.getManifest();
            Attributes main = manifest == null ? null : manifest.getMainAttributes();
            String libraryPrefix = main == null ? null : main.getValue("Spring-Boot-Lib");
            String classesPrefix = main == null ? null : main.getValue("Spring-Boot-Classes");
            if (libraryPrefix == null || classesPrefix == null) {
                return Optional.empty();
            }
            List<String> libraries = new ArrayList<>();
            String index = main.getValue("Spring-Boot-Classpath-Index");
            ZipEntry indexEntry = index == null ? null : file.getEntry(index);
            if (indexEntry != null) {
                // lines like: - "BOOT-INF/lib/jackson-core-2.19.2.jar", in class path order
                try (InputStream in = file.getInputStream(indexEntry)) {
                    for (String line : new String(in.readAllBytes(), StandardCharsets.UTF_8).split("\n")) {
                        String name = line.strip();
                        if (name.startsWith("- \"") && name.endsWith("\"") && name.length() > 4) {
                            libraries.add(name.substring(3, name.length() - 1));
                        }
                    }
                }
            } else {
                file.stream().map(ZipEntry::getName)
                        .filter(n -> n.startsWith(libraryPrefix) && n.endsWith(".jar")
                                && n.indexOf('/', libraryPrefix.length()) < 0)
                        .forEach(libraries::add);
            }
            String launcher = Stream.of("org.springframework.boot.loader.launch.PropertiesLauncher",
                            "org.springframework.boot.loader.PropertiesLauncher")
                    .filter(c -> file.getEntry(c.replace('.', '/') + ".class") != null).findFirst().orElse(null);
            return Optional.of(new BootJar(jar, classesPrefix, libraries, launcher));
        }
    }

    Path jar() {
        return jar;
    }

    /** True if a class with this nested location is on the class path the jar gives its application. */
    boolean serves(String nestedEntry) {
        String entry = nestedEntry.endsWith("/") ? nestedEntry : nestedEntry + "/";
        return entry.equals(classesPrefix) || libraries.contains(nestedEntry);
    }

    /**
     * The worker class path extracted into {@code cacheDirectory}: {@code classes.jar} then the libraries in the
     * jar's class path order. Extracts on first use, and again if files of an earlier extraction disappeared.
     *
     * @throws IOException if the directory is not private or the extraction fails
     */
    synchronized List<Path> extract(Path cacheDirectory) throws IOException {
        List<Path> known = extracted.get(cacheDirectory);
        if (known != null && known.stream().allMatch(Files::isRegularFile)) {
            return known;
        }
        if (!PrivateDirectory.prepare(cacheDirectory)) {
            throw new IOException(cacheDirectory + " is not a directory owned by " + System.getProperty("user.name")
                    + " with mode 0700");
        }
        Path target = cacheDirectory.resolve(PREFIX + key());
        List<Path> classPath = classPath(target);
        if (!complete(target, classPath)) {
            Path temporary = cacheDirectory.resolve(target.getFileName() + "." + UUID.randomUUID() + ".tmp");
            long started = System.nanoTime();
            try {
                write(temporary);
                if (Files.exists(target, LinkOption.NOFOLLOW_LINKS)) {
                    deleteTree(target); // incomplete: files were removed under it
                }
                Files.move(temporary, target, StandardCopyOption.ATOMIC_MOVE);
                LOG.info("extracted {} for Java workers into {} in {} ms", jar.getFileName(), target,
                        Duration.ofNanos(System.nanoTime() - started).toMillis());
            } catch (IOException e) {
                if (!complete(target, classPath)) { // else another host extracted it at the same time
                    throw e;
                }
            } finally {
                deleteTree(temporary);
            }
            evictUnused(cacheDirectory, target);
        } else {
            Files.setLastModifiedTime(target, FileTime.from(Instant.now())); // in use: keep it from eviction
        }
        extracted.put(cacheDirectory, classPath);
        latest = classPath;
        return classPath;
    }

    /** The class path of the latest extraction, if any; for messages. */
    Optional<List<Path>> latestExtraction() {
        return Optional.ofNullable(latest);
    }

    /**
     * The arguments that run {@code mainClass} through Boot's {@code PropertiesLauncher}, reading the nested jars
     * in place; empty if the jar has no such launcher.
     */
    Optional<List<String>> launcherArguments(String mainClass) {
        return launcher == null ? Optional.empty()
                : Optional.of(List.of("-cp", jar.toString(), "-Dloader.main=" + mainClass, launcher));
    }

    private List<Path> classPath(Path target) {
        List<Path> classPath = new ArrayList<>();
        classPath.add(target.resolve(CLASSES_JAR));
        for (String library : libraries) {
            classPath.add(target.resolve(LIBRARIES).resolve(fileName(library)));
        }
        return classPath;
    }

    private static boolean complete(Path target, List<Path> classPath) {
        return PrivateDirectory.isPrivate(target) && classPath.stream().allMatch(Files::isRegularFile);
    }

    private void write(Path temporary) throws IOException {
        Files.createDirectory(temporary, PrivateDirectory.ownerOnly());
        Files.createDirectory(temporary.resolve(LIBRARIES), PrivateDirectory.ownerOnly());
        try (JarFile file = new JarFile(jar.toFile());
             JarOutputStream classes = new JarOutputStream(Files.newOutputStream(temporary.resolve(CLASSES_JAR)))) {
            for (JarEntry entry : (Iterable<JarEntry>) file.stream()::iterator) {
                String name = entry.getName();
                if (name.startsWith(classesPrefix) && name.length() > classesPrefix.length()) {
                    JarEntry copy = new JarEntry(name.substring(classesPrefix.length()));
                    copy.setTime(entry.getTime());
                    classes.putNextEntry(copy);
                    if (!entry.isDirectory()) {
                        try (InputStream in = file.getInputStream(entry)) {
                            in.transferTo(classes);
                        }
                    }
                    classes.closeEntry();
                }
            }
            for (String library : libraries) {
                ZipEntry entry = file.getEntry(library);
                if (entry == null) {
                    throw new IOException(jar + " lists " + library + " in its class path index but has no such entry");
                }
                Path copy = temporary.resolve(LIBRARIES).resolve(fileName(library));
                try (InputStream in = file.getInputStream(entry); OutputStream out = Files.newOutputStream(copy)) {
                    in.transferTo(out);
                }
            }
        }
    }

    /** The file name of a nested entry; never a path, so no entry can write outside the extraction. */
    private static String fileName(String entry) {
        String name = entry.substring(entry.lastIndexOf('/') + 1);
        if (name.isEmpty() || name.equals(".") || name.equals("..") || name.indexOf('\\') >= 0) {
            throw new IllegalArgumentException("unexpected library entry \"" + entry + "\"");
        }
        return name;
    }

    /** Path, size and time of the jar: a rebuilt jar gets a new extraction. */
    private String key() throws IOException {
        try {
            MessageDigest digest = MessageDigest.getInstance("SHA-256");
            String identity = jar.toAbsolutePath().normalize() + "\u0000" + Files.size(jar) + "\u0000"
                    + Files.getLastModifiedTime(jar).toMillis();
            return HexFormat.of().formatHex(digest.digest(identity.getBytes(StandardCharsets.UTF_8)), 0, 12);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Deletes extractions unused for a week and temporary folders abandoned by a host that died extracting. */
    private static void evictUnused(Path cacheDirectory, Path keep) {
        Instant now = Instant.now();
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(cacheDirectory, PREFIX + "*")) {
            for (Path entry : entries) {
                String name = entry.getFileName().toString();
                Duration maxAge = name.matches(PREFIX + "[0-9a-f]{24}") ? UNUSED_EXTRACTION_AGE
                        : name.endsWith(".tmp") ? ABANDONED_TEMPORARY_AGE : null;
                if (maxAge != null && !entry.equals(keep) && PrivateDirectory.isPrivate(entry)
                        && Files.getLastModifiedTime(entry, LinkOption.NOFOLLOW_LINKS).toInstant()
                        .isBefore(now.minus(maxAge))) {
                    deleteTree(entry);
                    LOG.debug("deleted {}: unused for more than {}", entry, maxAge);
                }
            }
        } catch (IOException e) {
            LOG.debug("cannot evict old extractions in {}: {}", cacheDirectory, e.toString());
        }
    }

    private static void deleteTree(Path root) throws IOException {
        if (!Files.exists(root, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        try (Stream<Path> tree = Files.walk(root)) {
            for (Path path : (Iterable<Path>) tree.sorted(Comparator.reverseOrder())::iterator) {
                Files.deleteIfExists(path);
            }
        }
    }

    @Override
    public String toString() {
        return "Spring Boot jar " + jar;
    }
}
