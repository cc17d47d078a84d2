package dev.procpool;

import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class WorkerSpecTest {

    static final class FirstHandler implements TaskHandler {
        @Override
        public Set<String> taskTypes() {
            return Set.of("first");
        }

        @Override
        public Object handle(TaskContext context) {
            return null;
        }
    }

    static final class SecondHandler implements TaskHandler {
        @Override
        public Set<String> taskTypes() {
            return Set.of("second");
        }

        @Override
        public Object handle(TaskContext context) {
            return null;
        }
    }

    private static void assertMessageContains(Throwable thrown, String... parts) {
        String message = thrown.getMessage();
        assertNotNull(message, "exception has no message");
        for (String part : parts) {
            assertTrue(message.contains(part), () -> "message \"" + message + "\" should contain \"" + part + "\"");
        }
    }

    // ------------------------------------------------------------------ Java

    @Test
    void javaFromClassesUsesBinaryNamesAndDefaults() {
        WorkerSpec.Java spec = WorkerSpec.java(FirstHandler.class, SecondHandler.class);
        assertEquals(List.of(FirstHandler.class.getName(), SecondHandler.class.getName()), spec.handlerClassNames());
        assertEquals("dev.procpool.WorkerSpecTest$FirstHandler", spec.handlerClassNames().get(0));
        assertTrue(spec.classpath().isEmpty());
        assertEquals(WorkerSpec.Java.DEFAULT_JVM_OPTIONS, spec.jvmOptions());
        assertTrue(spec.javaExecutableOverride().isEmpty());
    }

    @Test
    void defaultJvmOptionsAreTheDocumentedOnes() {
        assertEquals(List.of("-XX:+UseSerialGC", "-Xshare:auto", "-XX:-UsePerfData", "-XX:+ExitOnOutOfMemoryError",
                "-XX:CompileThresholdScaling=3"), WorkerSpec.Java.DEFAULT_JVM_OPTIONS);
    }

    @Test
    void javaFromNamesKeepsTheNames() {
        WorkerSpec.Java spec = WorkerSpec.java(List.of("com.example.Resize"));
        assertEquals(List.of("com.example.Resize"), spec.handlerClassNames());
        assertEquals(WorkerSpec.Java.DEFAULT_JVM_OPTIONS, spec.jvmOptions());
    }

    @Test
    void javaWithoutHandlersIsRejected() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> WorkerSpec.java());
        assertMessageContains(e, "at least one TaskHandler");
        assertThrows(IllegalArgumentException.class, () -> WorkerSpec.java(List.of()));
    }

    @Test
    void blankHandlerNameIsRejected() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> WorkerSpec.java(List.of("com.example.A", " ")));
        assertMessageContains(e, "blank", "com.example.A");
    }

    @Test
    void nullHandlerArgumentsFailWithTheirName() {
        assertMessageContains(assertThrows(NullPointerException.class,
                () -> WorkerSpec.java((Class<? extends TaskHandler>[]) null)), "handlers");
        assertMessageContains(assertThrows(NullPointerException.class,
                () -> WorkerSpec.java((List<String>) null)), "handlerClassNames");
        assertMessageContains(assertThrows(NullPointerException.class,
                () -> new WorkerSpec.Java(List.of("A"), null, List.of(), null)), "classpath");
        assertMessageContains(assertThrows(NullPointerException.class,
                () -> new WorkerSpec.Java(List.of("A"), List.of(), null, null)), "jvmOptions");
    }

    @Test
    void jvmOptionNotStartingWithDashIsRejected() {
        WorkerSpec.Java spec = WorkerSpec.java(FirstHandler.class);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> spec.withJvmOptions(List.of("-Xmx256m", "Xms64m")));
        assertMessageContains(e, "JVM options", "'-'", "\"Xms64m\"", "own list element");
    }

    @Test
    void extraJvmOptionNotStartingWithDashIsRejected() {
        WorkerSpec.Java spec = WorkerSpec.java(FirstHandler.class);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> spec.withExtraJvmOptions(List.of("")));
        assertMessageContains(e, "'-'", "\"\"");
    }

    @Test
    void withJvmOptionsReplacesTheDefaults() {
        WorkerSpec.Java spec = WorkerSpec.java(FirstHandler.class).withJvmOptions(List.of("-Xmx64m"));
        assertEquals(List.of("-Xmx64m"), spec.jvmOptions());
    }

    @Test
    void withExtraJvmOptionsAppendsToTheDefaults() {
        WorkerSpec.Java spec = WorkerSpec.java(FirstHandler.class).withExtraJvmOptions(List.of("-Xmx64m", "-ea"));
        List<String> expected = new ArrayList<>(WorkerSpec.Java.DEFAULT_JVM_OPTIONS);
        expected.add("-Xmx64m");
        expected.add("-ea");
        assertEquals(expected, spec.jvmOptions());
    }

    @Test
    void withMethodsKeepTheOtherComponents() {
        Path java = Path.of("/opt/jdk/bin/java");
        List<Path> classpath = List.of(Path.of("/app/lib/a.jar"), Path.of("/app/classes"));
        WorkerSpec.Java spec = WorkerSpec.java(FirstHandler.class)
                .withJavaExecutable(java)
                .withClasspath(classpath)
                .withJvmOptions(List.of("-Xmx1g"));
        assertEquals(List.of(FirstHandler.class.getName()), spec.handlerClassNames());
        assertEquals(classpath, spec.classpath());
        assertEquals(List.of("-Xmx1g"), spec.jvmOptions());
        assertEquals(java, spec.javaExecutable());
        assertEquals(java, spec.javaExecutableOverride().orElseThrow());
    }

    @Test
    void withJavaExecutableRejectsNull() {
        NullPointerException e = assertThrows(NullPointerException.class,
                () -> WorkerSpec.java(FirstHandler.class).withJavaExecutable(null));
        assertMessageContains(e, "javaExecutable");
    }

    @Test
    void javaListsAreCopiedAndUnmodifiable() {
        List<String> names = new ArrayList<>(List.of("com.example.A"));
        List<Path> classpath = new ArrayList<>(List.of(Path.of("/a.jar")));
        List<String> options = new ArrayList<>(List.of("-Xmx64m"));
        WorkerSpec.Java spec = new WorkerSpec.Java(names, classpath, options, null);

        names.add("com.example.B");
        classpath.clear();
        options.set(0, "not-an-option");

        assertEquals(List.of("com.example.A"), spec.handlerClassNames());
        assertEquals(List.of(Path.of("/a.jar")), spec.classpath());
        assertEquals(List.of("-Xmx64m"), spec.jvmOptions());
        assertThrows(UnsupportedOperationException.class, () -> spec.handlerClassNames().add("x"));
        assertThrows(UnsupportedOperationException.class, () -> spec.classpath().add(Path.of("x")));
        assertThrows(UnsupportedOperationException.class, () -> spec.jvmOptions().add("-x"));
    }

    @Test
    void javaSpecsWithTheSameComponentsAreEqual() {
        assertEquals(WorkerSpec.java(FirstHandler.class), WorkerSpec.java(List.of(FirstHandler.class.getName())));
    }

    // ------------------------------------------------------------------ Command

    @Test
    void commandFromProgramAndArguments() {
        WorkerSpec.Command spec = WorkerSpec.command("python3", "-u", "worker.py");
        assertEquals(List.of("python3", "-u", "worker.py"), spec.argv());
        assertEquals(List.of("worker-bin"), WorkerSpec.command("worker-bin").argv());
    }

    @Test
    void argumentsAreNeverSplit() {
        // Commands are argument lists, never shell strings: spaces stay inside their element.
        WorkerSpec.Command spec = WorkerSpec.command("sh", "-c", "echo a b; exit 1");
        assertEquals(3, spec.argv().size());
        assertEquals("echo a b; exit 1", spec.argv().get(2));
    }

    @Test
    void emptyCommandIsRejected() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> WorkerSpec.command(List.of()));
        assertMessageContains(e, "program", "first element", "[]");
    }

    @Test
    void blankProgramIsRejected() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> WorkerSpec.command(List.of("  ", "worker.py")));
        assertMessageContains(e, "program", "worker.py");
        assertThrows(IllegalArgumentException.class, () -> WorkerSpec.command("", "arg"));
    }

    @Test
    void nullCommandArgumentsFail() {
        assertMessageContains(assertThrows(NullPointerException.class, () -> WorkerSpec.command((List<String>) null)),
                "argv");
        assertMessageContains(assertThrows(NullPointerException.class,
                () -> WorkerSpec.command(null, "a")), "program");
        assertMessageContains(assertThrows(NullPointerException.class,
                () -> WorkerSpec.command("p", (String[]) null)), "args");
        assertThrows(NullPointerException.class, () -> WorkerSpec.command(Arrays.asList("p", null)));
    }

    @Test
    void commandListIsCopiedAndUnmodifiable() {
        List<String> argv = new ArrayList<>(List.of("node", "worker.js"));
        WorkerSpec.Command spec = WorkerSpec.command(argv);
        argv.set(1, "evil.js");
        argv.add("--flag");
        assertEquals(List.of("node", "worker.js"), spec.argv());
        assertThrows(UnsupportedOperationException.class, () -> spec.argv().add("x"));
    }

    @Test
    void commandVarargsArrayIsCopied() {
        String[] args = {"a", "b"};
        WorkerSpec.Command spec = WorkerSpec.command("prog", args);
        args[0] = "changed";
        assertEquals(List.of("prog", "a", "b"), spec.argv());
    }
}
