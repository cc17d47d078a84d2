package dev.procpool.core.internal.process;

import dev.procpool.WorkerStartupException;
import dev.procpool.core.internal.worker.WorkerMain;
import dev.procpool.core.internal.Loggers;
import org.slf4j.Logger;

import java.io.File;
import java.io.IOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.URL;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.CodeSource;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.jar.Attributes;
import java.util.jar.JarFile;
import java.util.jar.Manifest;
import java.util.stream.Collectors;

/**
 * Where a Java worker JVM finds pool-core and the handler classes when its spec names no class path: the same place
 * the host found them, whatever way the host was packaged.
 * <ul>
 *   <li><b>Class path</b> (jars and directories, a shaded jar, {@code java -jar} with a manifest {@code Class-Path}):
 *   {@code -cp} with the host's {@code java.class.path}, relative entries made absolute since a worker may run in
 *   another directory.</li>
 *   <li><b>Spring Boot executable jar</b> ({@code java -jar app.jar}, classes nested in {@code BOOT-INF/}): the jar
 *   extracted once into the pool's cache directory and run as a plain class path, or read in place by Boot's
 *   launcher when that directory is unusable; see {@link BootJar} for why and for the measured start-up.</li>
 *   <li><b>Module path</b> ({@code java --module-path … -m …}, when pool-core is a named module):
 *   {@code --module-path} as the host's, the handlers' modules added, and {@code -m dev.procpool.core/…}.</li>
 * </ul>
 * {@link #check} runs when a pool starts: every class a worker needs must come from where the worker will look,
 * else the start fails at once with a message that says where the class came from, what the host's paths are, and
 * that {@code WorkerSpec.Java.withClasspath} is the way out. Thread-safe.
 */
public final class WorkerClasspath {
    private static final Logger LOG = Loggers.pool();
    private static final String MAIN = WorkerMain.class.getName();

    /** Cache directories already warned about: one warning each, not one per worker. */
    private static final Set<Path> WARNED = ConcurrentHashMap.newKeySet();
    /** What the host's launch looks like; read once, as it cannot change while the JVM runs. */
    private static volatile Layout hostLayout;

    /**
     * The arguments of a worker's command line after its JVM options and before the handler names.
     *
     * @param arguments       for example {@code -cp a.jar:b.jar dev.procpool.core.internal.worker.WorkerMain}
     * @param sharedClassPath the worker's class path if class-data sharing can archive it, else empty
     */
    public record Launch(List<String> arguments, String sharedClassPath) {
        public Launch {
            arguments = List.copyOf(arguments);
        }
    }

    /** How the host was launched: its class path (and a Spring Boot jar on it), or its module path. */
    sealed interface Layout permits ClassPathLayout, ModulePathLayout {
    }

    record ClassPathLayout(List<Path> classPath, Optional<BootJar> boot) implements Layout {
    }

    record ModulePathLayout(List<Path> modulePath, List<Path> classPath) implements Layout {
    }

    private WorkerClasspath() {
    }

    /**
     * Checks that workers of this spec, which uses the host's paths, can load the worker runtime and the handlers.
     *
     * @param handlers the handler classes as the host loaded them
     * @throws WorkerStartupException naming the class that cannot be found, where it came from, the host's paths,
     *                                and {@code withClasspath}
     */
    public static void check(String group, List<Class<?>> handlers) {
        check(hostLayout(), group, handlers);
    }

    static void check(Layout layout, String group, List<Class<?>> handlers) {
        List<Class<?>> needed = new ArrayList<>();
        needed.add(WorkerMain.class);
        needed.addAll(handlers);
        for (Class<?> type : needed) {
            Optional<String> problem = problem(layout, type);
            if (problem.isPresent()) {
                throw new WorkerStartupException("Java workers of group \"" + group + "\" cannot be started: "
                        + problem.get() + ". Found: " + describe(layout) + ". Set the workers' class path with "
                        + "WorkerSpec.java(…).withClasspath(…): the jars or directories of pool-core, its "
                        + "dependencies and the handlers.");
            }
        }
    }

    /** The launch arguments of a worker that runs these handlers with the host's paths. */
    public static Launch forHost(List<String> handlerClassNames, Path cacheDirectory) {
        return forHost(handlerClassNames, Objects.requireNonNull(cacheDirectory, "cacheDirectory"), true);
    }

    /** As {@link #forHost}, for messages: nothing is extracted, the latest extraction or Boot's launcher is shown. */
    public static Launch forMessages(List<String> handlerClassNames) {
        return forHost(handlerClassNames, null, false);
    }

    private static Launch forHost(List<String> handlerClassNames, Path cacheDirectory, boolean extract) {
        Layout layout = hostLayout();
        if (layout instanceof ModulePathLayout modules) {
            return moduleLaunch(modules, handlerClasses(handlerClassNames));
        }
        ClassPathLayout classPath = (ClassPathLayout) layout;
        List<Path> entries = classPath.classPath();
        if (classPath.boot().isPresent()) {
            BootJar boot = classPath.boot().get();
            try {
                entries = replace(entries, boot.jar(), extract ? boot.extract(cacheDirectory)
                        : boot.latestExtraction().orElseThrow(() -> new IOException("not extracted yet")));
            } catch (IOException | RuntimeException e) {
                Optional<List<String>> launcher = boot.launcherArguments(MAIN);
                if (launcher.isEmpty()) {
                    throw new WorkerStartupException("cannot extract " + boot.jar() + " into " + cacheDirectory
                            + " for the Java workers: " + e.getMessage(), e);
                }
                if (extract) {
                    warnOnce(cacheDirectory, e);
                }
                return new Launch(launcher.get(), "");
            }
        }
        String joined = join(entries);
        List<String> arguments = List.of("-cp", joined, MAIN);
        return new Launch(arguments, joined);
    }

    /** The launch arguments of a worker with a class path of its own (the spec's), taken as it is. */
    public static Launch forClassPath(List<Path> classPath) {
        String joined = join(classPath);
        return new Launch(List.of("-cp", joined, MAIN), joined);
    }

    /** The handlers as loaded in the host; in a module-path host they are all in the boot layer. */
    private static List<Class<?>> handlerClasses(List<String> names) {
        ClassLoader loader = Thread.currentThread().getContextClassLoader() != null
                ? Thread.currentThread().getContextClassLoader() : ClassLoader.getSystemClassLoader();
        List<Class<?>> classes = new ArrayList<>();
        for (String name : names) {
            try {
                classes.add(Class.forName(name, false, loader));
            } catch (ClassNotFoundException | LinkageError e) {
                // checked when the pool started; a class gone since shows in the worker's own start-up failure
            }
        }
        return classes;
    }

    // ------------------------------------------------------------------ the host's layout

    static Layout hostLayout() {
        Layout layout = hostLayout;
        if (layout == null) {
            layout = layout(System.getProperty("java.class.path"), System.getProperty("jdk.module.path"),
                    Path.of(System.getProperty("user.dir")), WorkerMain.class.getModule().isNamed(),
                    Origin.of(WorkerMain.class));
            hostLayout = layout;
        }
        return layout;
    }

    /**
     * The layout of a host with these paths. {@code coreNamed} when pool-core runs as a named module; otherwise a
     * Spring Boot jar is looked for where pool-core came from: a jar on the class path it is nested in.
     */
    static Layout layout(String classPath, String modulePath, Path workingDirectory, boolean coreNamed,
                         Optional<Origin> core) {
        List<Path> classEntries = entries(classPath, workingDirectory);
        if (coreNamed) {
            return new ModulePathLayout(entries(modulePath, workingDirectory), classEntries);
        }
        if (core.isPresent() && core.get().nestedEntry() != null && classEntries.contains(core.get().file())) {
            try {
                return new ClassPathLayout(classEntries, BootJar.read(core.get().file()));
            } catch (IOException e) {
                LOG.debug("cannot read {}: {}", core.get().file(), e.toString());
            }
        }
        return new ClassPathLayout(classEntries, Optional.empty());
    }

    /**
     * A path property split into absolute entries. An empty entry in the middle means the working directory, as
     * it does to the JVM; an empty or absent property has no entries.
     */
    static List<Path> entries(String path, Path workingDirectory) {
        List<Path> entries = new ArrayList<>();
        if (path == null || path.isEmpty()) {
            return entries;
        }
        for (String entry : path.split(File.pathSeparator, -1)) {
            entries.add(canonical(workingDirectory.resolve(entry)));
        }
        return entries;
    }

    // ------------------------------------------------------------------ checks

    /** Why a worker with this layout would not find the class, or empty if it would. */
    static Optional<String> problem(Layout layout, Class<?> type) {
        String what = type == WorkerMain.class ? "pool-core's worker runtime (" + MAIN + ")"
                : "handler class " + type.getName();
        if (layout instanceof ModulePathLayout modules && type.getModule().isNamed()) {
            Module module = type.getModule();
            Optional<URI> location = module.getLayer() != ModuleLayer.boot() ? Optional.empty()
                    : ModuleLayer.boot().configuration().findModule(module.getName())
                    .flatMap(resolved -> resolved.reference().location());
            if (location.isEmpty()) {
                return Optional.of(what + " is in module " + module.getName()
                        + ", which is not in the boot layer (a layer made by the application)");
            }
            if ("jrt".equals(location.get().getScheme()) || within(Path.of(location.get()), modules.modulePath())) {
                return Optional.empty();
            }
            return Optional.of(what + " is in module " + module.getName() + " at " + location.get()
                    + ", which is not on the module path");
        }
        List<Path> classPath = layout instanceof ClassPathLayout c ? c.classPath()
                : ((ModulePathLayout) layout).classPath();
        Optional<Origin> origin = Origin.of(type);
        if (origin.isEmpty()) {
            return Optional.of(what + " has no location the worker could load it from");
        }
        Origin from = origin.get();
        if (from.nestedEntry() != null) {
            Optional<BootJar> boot = layout instanceof ClassPathLayout c ? c.boot() : Optional.empty();
            if (boot.isPresent() && boot.get().jar().equals(from.file()) && boot.get().serves(from.nestedEntry())) {
                return Optional.empty();
            }
        } else if (reachable(classPath, from.file())) {
            return Optional.empty();
        }
        return Optional.of(what + " was loaded from " + from + ", which is not on the host's "
                + (layout instanceof ModulePathLayout ? "class path or module path" : "class path"));
    }

    /** A module location on the module path: an entry itself, or a jar or folder inside a folder entry. */
    private static boolean within(Path location, List<Path> modulePath) {
        Path path = canonical(location);
        return modulePath.contains(path) || modulePath.contains(path.getParent());
    }

    /**
     * The real path where the file exists, else the absolute one: the JVM names class path locations by their
     * canonical paths, so entries and locations compare equal only in that form.
     */
    static Path canonical(Path path) {
        Path absolute = path.toAbsolutePath().normalize();
        try {
            return absolute.toRealPath();
        } catch (IOException e) {
            return absolute;
        }
    }

    /** The file is a class path entry, or reached from one through manifest {@code Class-Path} attributes. */
    private static boolean reachable(List<Path> classPath, Path file) {
        if (classPath.contains(file)) {
            return true;
        }
        Set<Path> seen = new HashSet<>();
        Deque<Path> jars = new ArrayDeque<>(classPath);
        while (!jars.isEmpty()) {
            Path jar = jars.poll();
            if (!seen.add(jar) || !jar.toString().endsWith(".jar") || !Files.isRegularFile(jar)) {
                continue;
            }
            for (Path referenced : manifestClassPath(jar)) {
                if (referenced.equals(file)) {
                    return true;
                }
                jars.add(referenced);
            }
        }
        return false;
    }

    private static List<Path> manifestClassPath(Path jar) {
        List<Path> referenced = new ArrayList<>();
        try (JarFile file = new JarFile(jar.toFile())) {
            Manifest manifest = file.getManifest();
            String value = manifest == null ? null : manifest.getMainAttributes().getValue(Attributes.Name.CLASS_PATH);
            if (value != null) {
                URI base = jar.toUri();
                for (String reference : value.trim().split("\\s+")) {
                    try {
                        URI resolved = base.resolve(new URI(null, null, reference, null).getRawPath());
                        if ("file".equals(resolved.getScheme())) {
                            referenced.add(canonical(Path.of(resolved)));
                        }
                    } catch (URISyntaxException | IllegalArgumentException ignored) {
                        // the JVM ignores such an entry too
                    }
                }
            }
        } catch (IOException e) {
            LOG.debug("cannot read the manifest of {}: {}", jar, e.toString());
        }
        return referenced;
    }

    // ------------------------------------------------------------------ launching

    private static Launch moduleLaunch(ModulePathLayout layout, List<Class<?>> handlers) {
        Module core = WorkerMain.class.getModule();
        Set<String> addModules = new LinkedHashSet<>();
        Set<String> addExports = new LinkedHashSet<>();
        for (Class<?> handler : handlers) {
            Module module = handler.getModule();
            if (module.isNamed() && !module.equals(core)) {
                addModules.add(module.getName());
                // the runtime creates handlers reflectively: their package must be exported to it
                if (!module.isExported(handler.getPackageName(), core)) {
                    addExports.add(module.getName() + "/" + handler.getPackageName() + "=" + core.getName());
                }
            }
        }
        List<String> arguments = new ArrayList<>();
        if (!layout.modulePath().isEmpty()) {
            arguments.addAll(List.of("--module-path", join(layout.modulePath())));
        }
        if (!layout.classPath().isEmpty()) {
            arguments.addAll(List.of("-cp", join(layout.classPath())));
        }
        if (!addModules.isEmpty()) {
            arguments.addAll(List.of("--add-modules", String.join(",", addModules)));
        }
        for (String export : addExports) {
            arguments.addAll(List.of("--add-exports", export));
        }
        arguments.addAll(List.of("-m", core.getName() + "/" + MAIN));
        return new Launch(arguments, ""); // class-data sharing is applied to class paths only
    }

    private static List<Path> replace(List<Path> entries, Path entry, List<Path> replacement) {
        List<Path> result = new ArrayList<>();
        for (Path path : entries) {
            if (path.equals(entry)) {
                result.addAll(replacement);
            } else {
                result.add(path);
            }
        }
        return result;
    }

    private static void warnOnce(Path cacheDirectory, Exception e) {
        if (WARNED.add(cacheDirectory)) {
            LOG.warn("Java workers read the Spring Boot jar through Boot's launcher, which starts them slower and "
                    + "without class-data sharing, since the jar cannot be extracted into {}: {}", cacheDirectory,
                    e.getMessage());
        }
    }

    private static String join(List<Path> entries) {
        return entries.stream().map(Path::toString).collect(Collectors.joining(File.pathSeparator));
    }

    /** The host's paths for a message: the first entries of each and how many more. */
    static String describe(Layout layout) {
        if (layout instanceof ModulePathLayout modules) {
            return "module path " + shortened(modules.modulePath()) + ", class path " + shortened(modules.classPath());
        }
        ClassPathLayout classPath = (ClassPathLayout) layout;
        return "class path " + shortened(classPath.classPath())
                + (classPath.boot().map(b -> " (a Spring Boot jar)").orElse(" (no Spring Boot jar), no module path"));
    }

    private static String shortened(List<Path> entries) {
        if (entries.isEmpty()) {
            return "(empty)";
        }
        String shown = entries.stream().limit(2).map(Path::toString).collect(Collectors.joining(File.pathSeparator));
        return entries.size() > 2 ? shown + File.pathSeparator + "… (" + (entries.size() - 2) + " more)" : shown;
    }

    /**
     * Where a class was loaded from: a jar or folder, or an entry nested in a Spring Boot jar. Boot 3.2 and later
     * name nested locations {@code jar:nested:/app.jar/!BOOT-INF/lib/x.jar!/}; earlier versions
     * {@code jar:file:/app.jar!/BOOT-INF/lib/x.jar!/}.
     */
    record Origin(Path file, String nestedEntry) {
        static Optional<Origin> of(Class<?> type) {
            CodeSource source = type.getProtectionDomain().getCodeSource();
            URL location = source == null ? null : source.getLocation();
            return location == null ? Optional.empty() : parse(location.toString());
        }

        static Optional<Origin> parse(String location) {
            try {
                if (location.startsWith("file:")) {
                    return Optional.of(new Origin(canonical(Path.of(new URI(location))), null));
                }
                String rest = location.startsWith("jar:") ? location.substring(4) : location;
                if (rest.endsWith("!/")) {
                    rest = rest.substring(0, rest.length() - 2);
                }
                if (rest.startsWith("nested:")) {
                    int separator = rest.indexOf("/!");
                    if (separator > 0) {
                        String file = decode(rest.substring("nested:".length(), separator));
                        return Optional.of(new Origin(canonical(Path.of(file)), decode(rest.substring(separator + 2))));
                    }
                } else if (rest.startsWith("file:")) {
                    int separator = rest.indexOf("!/");
                    if (separator > 0) {
                        return Optional.of(new Origin(canonical(Path.of(new URI(rest.substring(0, separator)))),
                                decode(rest.substring(separator + 2))));
                    }
                }
            } catch (URISyntaxException | IllegalArgumentException e) {
                LOG.debug("cannot read the location {}: {}", location, e.toString());
            }
            return Optional.empty();
        }

        private static String decode(String part) {
            return URLDecoder.decode(part.replace("+", "%2B"), StandardCharsets.UTF_8);
        }

        @Override
        public String toString() {
            return nestedEntry == null ? file.toString() : file + "!/" + nestedEntry;
        }
    }
}
