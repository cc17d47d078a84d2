package dev.procpool.core.internal.process;

import dev.procpool.WorkerStartupException;
import dev.procpool.core.internal.process.WorkerClasspath.ClassPathLayout;
import dev.procpool.core.internal.process.WorkerClasspath.Layout;
import dev.procpool.core.internal.process.WorkerClasspath.ModulePathLayout;
import dev.procpool.core.internal.process.WorkerClasspath.Origin;
import dev.procpool.core.internal.worker.WorkerMain;
import dev.procpool.core.testing.TestHandler;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.File;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.jar.Attributes;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import java.util.jar.Manifest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class WorkerClasspathTest {
    private static final Path RUNTIME = Origin.of(WorkerMain.class).orElseThrow().file();
    private static final Path HANDLERS = Origin.of(TestHandler.class).orElseThrow().file();

    @Test
    void entriesAreMadeAbsoluteAndAnEmptyEntryIsTheWorkingDirectory(@TempDir Path dir) throws IOException {
        Path work = dir.toRealPath();
        assertEquals(List.of(work.resolve("a.jar"), work, Path.of("/opt/b.jar")),
                WorkerClasspath.entries("a.jar" + File.pathSeparator + File.pathSeparator + "/opt/./b.jar", work));
        assertEquals(List.of(), WorkerClasspath.entries("", work), "a module-path host has an empty class path");
        assertEquals(List.of(), WorkerClasspath.entries(null, work));
    }

    @Test
    void entriesAreCanonicalAsTheJvmNamesClassLocations(@TempDir Path dir) throws IOException {
        Path real = Files.createDirectory(dir.resolve("real"));
        Path link = Files.createSymbolicLink(dir.resolve("link"), real);
        assertEquals(List.of(real.toRealPath()), WorkerClasspath.entries(link.toString(), dir));
    }

    @Test
    void aHostClassPathWithTheRuntimeAndTheHandlersServesWorkers(@TempDir Path dir) {
        Layout layout = WorkerClasspath.layout(RUNTIME + File.pathSeparator + HANDLERS, null, dir, false, Optional.empty());

        assertEquals(Optional.empty(), WorkerClasspath.problem(layout, WorkerMain.class));
        assertEquals(Optional.empty(), WorkerClasspath.problem(layout, TestHandler.class));
        WorkerClasspath.check(layout, "default", List.of(TestHandler.class));
    }

    @Test
    void aHandlerMissingFromTheClassPathIsNamedWithWhereItCameFrom(@TempDir Path dir) {
        Layout layout = WorkerClasspath.layout(RUNTIME.toString(), null, dir, false, Optional.empty());

        String problem = WorkerClasspath.problem(layout, TestHandler.class).orElseThrow();

        assertEquals("handler class " + TestHandler.class.getName() + " was loaded from " + HANDLERS
                + ", which is not on the host's class path", problem);
    }

    @Test
    void aHostWithoutPoolCoreOnItsClassPathFailsAtOnceWithAShortMessageThatSaysWhatToSet(@TempDir Path dir) {
        String classPath = String.join(File.pathSeparator, "/opt/app/plexus-classworlds.jar", "/opt/app/a.jar",
                "/opt/app/b.jar", "/opt/app/c.jar");
        Layout layout = WorkerClasspath.layout(classPath, null, dir, false, Optional.empty());

        WorkerStartupException e = assertThrows(WorkerStartupException.class,
                () -> WorkerClasspath.check(layout, "images", List.of(TestHandler.class)));

        String message = e.getMessage();
        assertTrue(message.startsWith("Java workers of group \"images\" cannot be started: pool-core's worker "
                + "runtime (" + WorkerMain.class.getName() + ") was loaded from " + RUNTIME
                + ", which is not on the host's class path."), message);
        assertTrue(message.contains("Found: class path /opt/app/plexus-classworlds.jar" + File.pathSeparator
                + "/opt/app/a.jar" + File.pathSeparator + "… (2 more) (no Spring Boot jar), no module path."), message);
        assertTrue(message.endsWith("Set the workers' class path with WorkerSpec.java(…).withClasspath(…): the jars "
                + "or directories of pool-core, its dependencies and the handlers."), message);
        assertTrue(message.length() < 600, message.length() + " characters: " + message);
    }

    @Test
    void aManifestClassPathIsFollowedAsTheJvmFollowsIt(@TempDir Path dir) throws IOException {
        // a "manifest-only" jar, as test runners and IDEs use to shorten long command lines
        Manifest manifest = new Manifest();
        manifest.getMainAttributes().put(Attributes.Name.MANIFEST_VERSION, "1.0");
        manifest.getMainAttributes().put(Attributes.Name.CLASS_PATH,
                RUNTIME.toUri() + " " + HANDLERS.toUri());
        Path jar = dir.resolve("manifest-only.jar");
        try (OutputStream out = new JarOutputStream(Files.newOutputStream(jar), manifest)) {
            out.flush();
        }
        Layout layout = WorkerClasspath.layout(jar.toString(), null, dir, false, Optional.empty());

        WorkerClasspath.check(layout, "default", List.of(TestHandler.class));
    }

    @Test
    void aModulePathHostKeepsBothPathsAbsolute(@TempDir Path dir) throws IOException {
        Path work = dir.toRealPath();
        Layout layout = WorkerClasspath.layout("", "mods" + File.pathSeparator + "/opt/x.jar", work, true,
                Optional.empty());

        ModulePathLayout modules = assertInstanceOf(ModulePathLayout.class, layout);
        assertEquals(List.of(work.resolve("mods"), Path.of("/opt/x.jar")), modules.modulePath());
        assertEquals(List.of(), modules.classPath());
        // a class of the unnamed module must still be on the class path
        assertTrue(WorkerClasspath.problem(layout, TestHandler.class).orElseThrow()
                .endsWith("which is not on the host's class path or module path"));
    }

    @Test
    void aSpringBootJarIsTheClassPathJarThatPoolCoreIsNestedIn(@TempDir Path dir) throws IOException {
        Path boot = FakeBootJar.write(dir.resolve("app.jar"), List.of("one.jar", "two.jar")).toRealPath();
        Path plain = dir.resolve("plain.jar");
        try (OutputStream out = new JarOutputStream(Files.newOutputStream(plain))) {
            out.flush();
        }
        Optional<Origin> nested = Optional.of(new Origin(boot, "BOOT-INF/lib/one.jar"));
        String classPath = plain + File.pathSeparator + "app.jar";

        ClassPathLayout layout = assertInstanceOf(ClassPathLayout.class,
                WorkerClasspath.layout(classPath, null, dir, false, nested));

        assertEquals(boot, layout.boot().orElseThrow().jar());
        assertTrue(WorkerClasspath.describe(layout).endsWith("(a Spring Boot jar)"));
        assertEquals(Optional.empty(), assertInstanceOf(ClassPathLayout.class,
                WorkerClasspath.layout(plain.toString(), null, dir, false, nested)).boot(), "not on the class path");
        assertEquals(Optional.empty(), assertInstanceOf(ClassPathLayout.class,
                WorkerClasspath.layout(classPath, null, dir, false, Optional.of(new Origin(boot, null)))).boot(),
                "pool-core is not nested in it");
    }

    @Test
    void locationsOfEveryPackagingAreRead() throws IOException {
        Path tmp = Path.of("/tmp").toRealPath();
        assertEquals(new Origin(tmp.resolve("app.jar"), "BOOT-INF/lib/pool-core-1.0.jar"),
                Origin.parse("jar:nested:/tmp/app.jar/!BOOT-INF/lib/pool-core-1.0.jar!/").orElseThrow());
        assertEquals(new Origin(tmp.resolve("app.jar"), "BOOT-INF/classes/"),
                Origin.parse("jar:nested:/tmp/app.jar/!BOOT-INF/classes/!/").orElseThrow());
        assertEquals(new Origin(tmp.resolve("my app.jar"), "BOOT-INF/classes"), // Spring Boot before 3.2
                Origin.parse("jar:file:/tmp/my%20app.jar!/BOOT-INF/classes!/").orElseThrow());
        assertEquals(new Origin(tmp.resolve("lib/a b.jar"), null), Origin.parse("file:/tmp/lib/a%20b.jar").orElseThrow());
        assertEquals(Optional.empty(), Origin.parse("jrt:/java.base"));
    }

    /** Writes Spring Boot executable jars for tests: the layout, manifest and index that Boot's plugin writes. */
    static final class FakeBootJar {
        static final String CLASS_ENTRY = "dev/example/Handler.class";

        static Path write(Path jar, List<String> libraries) throws IOException {
            Manifest manifest = new Manifest();
            Attributes main = manifest.getMainAttributes();
            main.put(Attributes.Name.MANIFEST_VERSION, "1.0");
            main.put(Attributes.Name.MAIN_CLASS, "org.springframework.boot.loader.launch.JarLauncher");
            main.putValue("Spring-Boot-Classes", "BOOT-INF/classes/");
            main.putValue("Spring-Boot-Lib", "BOOT-INF/lib/");
            main.putValue("Spring-Boot-Classpath-Index", "BOOT-INF/classpath.idx");
            try (JarOutputStream out = new JarOutputStream(Files.newOutputStream(jar), manifest)) {
                put(out, "org/springframework/boot/loader/launch/PropertiesLauncher.class", new byte[] {1});
                put(out, "BOOT-INF/classes/", null);
                put(out, "BOOT-INF/classes/dev/example/", null);
                put(out, "BOOT-INF/classes/" + CLASS_ENTRY, new byte[] {(byte) 0xCA, (byte) 0xFE});
                put(out, "BOOT-INF/classes/application.yml", "procpool:\n  workers: 2\n".getBytes());
                StringBuilder index = new StringBuilder();
                for (String library : libraries) {
                    put(out, "BOOT-INF/lib/" + library, libraryBytes(library));
                    index.append("- \"BOOT-INF/lib/").append(library).append("\"\n");
                }
                put(out, "BOOT-INF/classpath.idx", index.toString().getBytes());
            }
            return jar;
        }

        /** A real little jar, so that extracted copies can be opened and compared. */
        static byte[] libraryBytes(String name) throws IOException {
            java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();
            try (JarOutputStream out = new JarOutputStream(bytes)) {
                put(out, name.replace(".jar", "") + "/Marker.class", name.getBytes());
            }
            return bytes.toByteArray();
        }

        private static void put(JarOutputStream out, String name, byte[] content) throws IOException {
            out.putNextEntry(new JarEntry(name));
            if (content != null) {
                out.write(content);
            }
            out.closeEntry();
        }
    }
}
