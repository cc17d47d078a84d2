package dev.procpool;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class WorkerGroupTest {

    private static final WorkerSpec SPEC = WorkerSpec.command("worker-bin");

    private static void assertMessageContains(Throwable thrown, String... parts) {
        String message = thrown.getMessage();
        assertNotNull(message, "exception has no message");
        for (String part : parts) {
            assertTrue(message.contains(part), () -> "message \"" + message + "\" should contain \"" + part + "\"");
        }
    }

    @Test
    void defaults() {
        WorkerGroup group = WorkerGroup.builder("cpu", SPEC).build();
        assertEquals("cpu", group.name());
        assertSame(SPEC, group.spec());
        assertEquals(Math.max(1, Runtime.getRuntime().availableProcessors()), group.workers());
        assertTrue(group.environment().isEmpty());
        assertEquals(WorkerGroup.DEFAULT_INHERITED_ENVIRONMENT, group.inheritedEnvironment());
        assertTrue(group.workingDirectory().isEmpty());
    }

    @Test
    void prefetchIsAdaptiveUpTo64UntilFixedAndAdaptiveAgainWhenAsked() {
        WorkerGroup adaptive = WorkerGroup.builder("cpu", SPEC).build();
        assertTrue(adaptive.adaptivePrefetch());
        assertEquals(WorkerGroup.ADAPTIVE_PREFETCH_MAX, adaptive.prefetch());
        assertEquals(64, WorkerGroup.ADAPTIVE_PREFETCH_MAX);
        WorkerGroup fixed = WorkerGroup.builder("cpu", SPEC).prefetch(0).build();
        assertTrue(!fixed.adaptivePrefetch());
        assertEquals(0, fixed.prefetch());
        assertEquals(7, WorkerGroup.builder("cpu", SPEC).prefetch(7).build().prefetch());
        WorkerGroup again = WorkerGroup.builder("cpu", SPEC).prefetch(7).adaptivePrefetch().build();
        assertTrue(again.adaptivePrefetch());
        assertEquals(WorkerGroup.ADAPTIVE_PREFETCH_MAX, again.prefetch());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> WorkerGroup.builder("cpu", SPEC).prefetch(1025));
        assertMessageContains(e, "prefetch", "1025", "1024");
    }

    @Test
    void defaultInheritedEnvironmentIsTheDocumentedSet() {
        assertEquals(Set.of("PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR"),
                WorkerGroup.DEFAULT_INHERITED_ENVIRONMENT);
        assertEquals(1024, WorkerGroup.MAX_WORKERS);
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "-gpu", "_gpu", ".gpu", "gpu pool", "gpu/1", "gpü"})
    void invalidNamesAreRejected(String name) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> WorkerGroup.builder(name, SPEC));
        assertMessageContains(e, "group name", "\"" + name + "\"", "64");
    }

    @Test
    void nameOfSixtyFourCharactersIsTheLongest() {
        String longest = "g".repeat(64);
        assertEquals(longest, WorkerGroup.builder(longest, SPEC).build().name());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> WorkerGroup.builder(longest + "g", SPEC));
        assertMessageContains(e, longest + "g", "64");
    }

    @Test
    void nullNameOrSpecFailsWithItsName() {
        assertMessageContains(assertThrows(NullPointerException.class, () -> WorkerGroup.builder(null, SPEC)), "name");
        assertMessageContains(assertThrows(NullPointerException.class, () -> WorkerGroup.builder("g", null)), "spec");
    }

    @ParameterizedTest
    @ValueSource(ints = {0, -1, 1025, Integer.MIN_VALUE})
    void outOfRangeWorkerCountIsRejected(int workers) {
        WorkerGroup.Builder builder = WorkerGroup.builder("g", SPEC);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> builder.workers(workers));
        assertMessageContains(e, "workers", String.valueOf(workers), "1", "1024");
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 7, 1024})
    void workerCountWithinBoundsIsAccepted(int workers) {
        assertEquals(workers, WorkerGroup.builder("g", SPEC).workers(workers).build().workers());
    }

    @Test
    void environmentVariablesAreKeptInOrderAndLastWins() {
        WorkerGroup group = WorkerGroup.builder("g", SPEC)
                .environment("MODE", "fast")
                .environment("_PRIVATE_1", "")
                .environment("MODE", "slow")
                .build();
        assertEquals(Map.of("MODE", "slow", "_PRIVATE_1", ""), group.environment());
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "1ABC", "A-B", "A B", "A=B", "é"})
    void invalidEnvironmentNamesAreRejected(String variable) {
        WorkerGroup.Builder builder = WorkerGroup.builder("g", SPEC);
        IllegalArgumentException set = assertThrows(IllegalArgumentException.class,
                () -> builder.environment(variable, "v"));
        assertMessageContains(set, "environment variable", "\"" + variable + "\"");
        IllegalArgumentException inherit = assertThrows(IllegalArgumentException.class,
                () -> builder.inheritEnvironment("OK", variable));
        assertMessageContains(inherit, "\"" + variable + "\"");
    }

    @Test
    void nullEnvironmentArgumentsFailWithTheirName() {
        WorkerGroup.Builder builder = WorkerGroup.builder("g", SPEC);
        assertMessageContains(assertThrows(NullPointerException.class, () -> builder.environment(null, "v")),
                "variable");
        assertMessageContains(assertThrows(NullPointerException.class, () -> builder.environment("A", null)),
                "value");
    }

    @Test
    void inheritedVariablesAreAddedToTheDefaults() {
        WorkerGroup group = WorkerGroup.builder("g", SPEC).inheritEnvironment("JAVA_HOME", "CUDA_VISIBLE_DEVICES")
                .build();
        assertTrue(group.inheritedEnvironment().containsAll(WorkerGroup.DEFAULT_INHERITED_ENVIRONMENT));
        assertTrue(group.inheritedEnvironment().contains("JAVA_HOME"));
        assertTrue(group.inheritedEnvironment().contains("CUDA_VISIBLE_DEVICES"));
        assertEquals(WorkerGroup.DEFAULT_INHERITED_ENVIRONMENT.size() + 2, group.inheritedEnvironment().size());
    }

    @Test
    void workingDirectoryMustExistAndBeADirectory(@TempDir Path dir) throws IOException {
        assertEquals(dir, WorkerGroup.builder("g", SPEC).workingDirectory(dir).build().workingDirectory()
                .orElseThrow());

        Path missing = dir.resolve("missing");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> WorkerGroup.builder("g", SPEC).workingDirectory(missing));
        assertMessageContains(e, "workingDirectory", missing.toString(), "existing directory");

        Path file = Files.writeString(dir.resolve("file.txt"), "x");
        IllegalArgumentException notDir = assertThrows(IllegalArgumentException.class,
                () -> WorkerGroup.builder("g", SPEC).workingDirectory(file));
        assertMessageContains(notDir, "workingDirectory", file.toString());

        assertMessageContains(assertThrows(NullPointerException.class,
                () -> WorkerGroup.builder("g", SPEC).workingDirectory(null)), "directory");
    }

    @Test
    void builtGroupIsUnaffectedByLaterBuilderChanges() {
        WorkerGroup.Builder builder = WorkerGroup.builder("g", SPEC).workers(2).environment("A", "1");
        WorkerGroup first = builder.build();

        builder.workers(5).environment("A", "2").environment("B", "3").inheritEnvironment("EXTRA");
        WorkerGroup second = builder.build();

        assertEquals(2, first.workers());
        assertEquals(Map.of("A", "1"), first.environment());
        assertEquals(WorkerGroup.DEFAULT_INHERITED_ENVIRONMENT, first.inheritedEnvironment());
        assertEquals(5, second.workers());
        assertEquals(Map.of("A", "2", "B", "3"), second.environment());
        assertTrue(second.inheritedEnvironment().contains("EXTRA"));
    }

    @Test
    void collectionsAreUnmodifiable() {
        WorkerGroup group = WorkerGroup.builder("g", SPEC).environment("A", "1").build();
        assertThrows(UnsupportedOperationException.class, () -> group.environment().put("B", "2"));
        assertThrows(UnsupportedOperationException.class, () -> group.inheritedEnvironment().add("B"));
        assertThrows(UnsupportedOperationException.class, () -> group.inheritedEnvironment().clear());
    }

    @Test
    void aRejectedSetterLeavesThePreviousValue() {
        WorkerGroup.Builder builder = WorkerGroup.builder("g", SPEC).workers(3);
        assertThrows(IllegalArgumentException.class, () -> builder.workers(0));
        assertThrows(IllegalArgumentException.class, () -> builder.environment("1X", "v"));
        WorkerGroup group = builder.build();
        assertEquals(3, group.workers());
        assertTrue(group.environment().isEmpty());
    }

    @Test
    void toStringNamesTheGroup() {
        String text = WorkerGroup.builder("gpu", SPEC).workers(2).build().toString();
        assertTrue(text.contains("name=gpu"), text);
        assertTrue(text.contains("workers=2"), text);
    }
}
