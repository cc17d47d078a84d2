package dev.procpool;

import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.function.BiConsumer;

import static org.junit.jupiter.api.Assertions.assertAll;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PoolConfigTest {

    /** A handler class for Java worker specs; never instantiated here. */
    static final class NoopHandler implements TaskHandler {
        @Override
        public Set<String> taskTypes() {
            return Set.of("noop");
        }

        @Override
        public Object handle(TaskContext context) {
            return null;
        }
    }

    private static final WorkerSpec SPEC = WorkerSpec.command("worker-bin");

    private static PoolConfig.Builder minimal() {
        return PoolConfig.builder().command("worker-bin");
    }

    private static void assertMessageContains(Throwable thrown, String... parts) {
        String message = thrown.getMessage();
        assertNotNull(message, "exception has no message");
        for (String part : parts) {
            assertTrue(message.contains(part), () -> "message \"" + message + "\" should contain \"" + part + "\"");
        }
    }

    @Nested
    class Defaults {
        @Test
        void documentedDefaults() {
            PoolConfig config = minimal().build();
            assertAll(
                    () -> assertEquals("procpool", config.name()),
                    () -> assertEquals(Duration.ofSeconds(60), config.startupTimeout()),
                    () -> assertEquals(PoolConfig.DEFAULT_MAX_FRAME_BYTES, config.maxFrameBytes()),
                    () -> assertEquals(16 * 1024 * 1024, config.maxFrameBytes()),
                    () -> assertEquals(Duration.ofSeconds(1), config.heartbeatInterval()),
                    () -> assertEquals(Duration.ofSeconds(10), config.heartbeatTimeout()),
                    () -> assertTrue(config.defaultTaskTimeout().isEmpty()),
                    () -> assertEquals(Duration.ofSeconds(2), config.cancelGracePeriod()),
                    () -> assertEquals(Duration.ofSeconds(30), config.shutdownTimeout()),
                    () -> assertEquals(Duration.ofSeconds(3), config.stopGracePeriod()),
                    () -> assertEquals(PoolConfig.JvmShutdown.DRAIN, config.jvmShutdown()),
                    () -> assertNotNull(config.ticker()));
        }

        @Test
        void theRetryPolicyRetriesAFirstCrashAtOnceUnlessToldNot() {
            assertTrue(RetryPolicy.defaults().retriesFirstCrashAtOnce());
            RetryPolicy backoffAlways = RetryPolicy.builder().retryFirstCrashAtOnce(false).build();
            assertFalse(backoffAlways.retriesFirstCrashAtOnce());
            assertTrue(backoffAlways.toString().contains("firstCrashAtOnce=false"), backoffAlways.toString());
        }

        @Test
        void shortcutsMakeOneDefaultGroupWithOneWorkerPerProcessor() {
            PoolConfig config = minimal().build();
            assertEquals(1, config.groups().size());
            WorkerGroup group = config.groups().get(0);
            assertEquals(PoolConfig.DEFAULT_GROUP, group.name());
            assertEquals("default", group.name());
            assertEquals(Math.max(1, Runtime.getRuntime().availableProcessors()), group.workers());
            assertEquals(SPEC, group.spec());
        }

        @Test
        void workersShortcutSetsTheDefaultGroupSize() {
            PoolConfig config = PoolConfig.builder().workers(3).javaWorker(NoopHandler.class).build();
            WorkerGroup group = config.groups().get(0);
            assertEquals(3, group.workers());
            assertEquals(WorkerSpec.java(NoopHandler.class), group.spec());
        }

        @Test
        void commandListShortcut() {
            PoolConfig config = PoolConfig.builder().command(List.of("python3", "-u", "worker.py")).build();
            assertEquals(WorkerSpec.command(List.of("python3", "-u", "worker.py")), config.groups().get(0).spec());
        }

        @Test
        void systemTickerIsTheDefault() {
            long before = System.nanoTime();
            long read = minimal().build().ticker().read();
            long after = System.nanoTime();
            assertTrue(read >= before && read <= after, "default ticker should read System.nanoTime()");
        }

        @Test
        void settersAreApplied() {
            Ticker ticker = () -> 42L;
            PoolConfig config = minimal()
                    .name("images.v2_pool-1")
                    .startupTimeout(Duration.ofSeconds(5))
                    .maxFrameBytes(2048)
                    .heartbeatInterval(Duration.ofMillis(100))
                    .heartbeatTimeout(Duration.ofMillis(200))
                    .defaultTaskTimeout(Duration.ofSeconds(7))
                    .cancelGracePeriod(Duration.ofMillis(500))
                    .shutdownTimeout(Duration.ZERO)
                    .stopGracePeriod(Duration.ofMillis(250))
                    .jvmShutdown(PoolConfig.JvmShutdown.NONE)
                    .ticker(ticker)
                    .build();
            assertAll(
                    () -> assertEquals("images.v2_pool-1", config.name()),
                    () -> assertEquals(Duration.ofSeconds(5), config.startupTimeout()),
                    () -> assertEquals(2048, config.maxFrameBytes()),
                    () -> assertEquals(Duration.ofMillis(100), config.heartbeatInterval()),
                    () -> assertEquals(Duration.ofMillis(200), config.heartbeatTimeout()),
                    () -> assertEquals(Duration.ofSeconds(7), config.defaultTaskTimeout().orElseThrow()),
                    () -> assertEquals(Duration.ofMillis(500), config.cancelGracePeriod()),
                    () -> assertEquals(Duration.ZERO, config.shutdownTimeout()),
                    () -> assertEquals(Duration.ofMillis(250), config.stopGracePeriod()),
                    () -> assertEquals(PoolConfig.JvmShutdown.NONE, config.jvmShutdown()),
                    () -> assertSame(ticker, config.ticker()));
        }

        @Test
        void jvmShutdownMustBeNamed() {
            NullPointerException e = assertThrows(NullPointerException.class, () -> minimal().jvmShutdown(null));
            assertMessageContains(e, "jvmShutdown");
            assertTrue(minimal().jvmShutdown(PoolConfig.JvmShutdown.STOP).build().toString()
                    .contains("jvmShutdown=STOP"));
        }

        @Test
        void toStringNamesTheSettings() {
            String text = minimal().name("p1").build().toString();
            assertTrue(text.contains("name=p1"), text);
            assertTrue(text.contains("maxFrameBytes=" + PoolConfig.DEFAULT_MAX_FRAME_BYTES), text);
        }
    }

    @Nested
    class Workers {
        @ParameterizedTest
        @ValueSource(ints = {0, -1, 1025, Integer.MIN_VALUE, Integer.MAX_VALUE})
        void outOfRangeIsRejectedAtOnce(int workers) {
            PoolConfig.Builder builder = PoolConfig.builder();
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> builder.workers(workers));
            assertMessageContains(e, "workers", String.valueOf(workers), "1", "1024");
        }

        @ParameterizedTest
        @ValueSource(ints = {1, 2, 1024})
        void inRangeIsAccepted(int workers) {
            assertEquals(workers, minimal().workers(workers).build().groups().get(0).workers());
        }

        @Test
        void workersWithoutAWorkerKindFailsInBuild() {
            PoolConfig.Builder builder = PoolConfig.builder().workers(3);
            IllegalStateException e = assertThrows(IllegalStateException.class, builder::build);
            assertMessageContains(e, "workers(3)", "javaWorker()", "command()", "worker()");
        }

        @Test
        void noWorkersConfiguredFailsInBuild() {
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> PoolConfig.builder().build());
            assertMessageContains(e, "no workers configured", "javaWorker()", "group()");
        }

        @Test
        void shortcutsAndGroupsTogetherFail() {
            PoolConfig.Builder builder = PoolConfig.builder()
                    .workers(2)
                    .javaWorker(NoopHandler.class)
                    .group(WorkerGroup.builder("other", SPEC).build());
            IllegalStateException e = assertThrows(IllegalStateException.class, builder::build);
            assertMessageContains(e, "group()", "not both");
        }

        @Test
        void workerCountShortcutAloneWithAGroupFails() {
            PoolConfig.Builder builder = PoolConfig.builder()
                    .workers(2)
                    .group(WorkerGroup.builder("other", SPEC).build());
            IllegalStateException e = assertThrows(IllegalStateException.class, builder::build);
            assertMessageContains(e, "not both");
        }

        @Test
        void workerKindShortcutAloneWithAGroupFails() {
            PoolConfig.Builder builder = PoolConfig.builder()
                    .command("worker-bin")
                    .group(WorkerGroup.builder("other", SPEC).build());
            assertThrows(IllegalStateException.class, builder::build);
        }

        @Test
        void groupsAreKeptInOrder() {
            WorkerGroup a = WorkerGroup.builder("a", SPEC).workers(1).build();
            WorkerGroup b = WorkerGroup.builder("b", SPEC).workers(2).build();
            PoolConfig config = PoolConfig.builder().group(a).group(b).build();
            assertEquals(List.of(a, b), config.groups());
        }

        @Test
        void duplicateGroupNamesFail() {
            PoolConfig.Builder builder = PoolConfig.builder()
                    .group(WorkerGroup.builder("gpu", SPEC).build())
                    .group(WorkerGroup.builder("cpu", SPEC).build())
                    .group(WorkerGroup.builder("gpu", SPEC).workers(2).build());
            IllegalStateException e = assertThrows(IllegalStateException.class, builder::build);
            assertMessageContains(e, "unique", "\"gpu\"");
        }

        @Test
        void nullArgumentsFailWithTheirName() {
            PoolConfig.Builder builder = PoolConfig.builder();
            assertMessageContains(assertThrows(NullPointerException.class, () -> builder.worker(null)), "spec");
            assertMessageContains(assertThrows(NullPointerException.class, () -> builder.group(null)), "group");
            assertMessageContains(assertThrows(NullPointerException.class, () -> builder.ticker(null)), "ticker");
            assertMessageContains(assertThrows(NullPointerException.class, () -> builder.name(null)), "name");
        }
    }

    @Nested
    class Name {
        @ParameterizedTest
        @ValueSource(strings = {"", " ", "-pool", ".pool", "_pool", "my pool", "pool/1", "pööl"})
        void invalidNamesAreRejected(String name) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> PoolConfig.builder().name(name));
            assertMessageContains(e, "name", "\"" + name + "\"", "64");
        }

        @ParameterizedTest
        @ValueSource(strings = {"a", "0", "pool-1", "my_pool.v2", "9-lives"})
        void validNamesAreAccepted(String name) {
            assertEquals(name, minimal().name(name).build().name());
        }

        @Test
        void sixtyFourCharactersIsTheLongestName() {
            String longest = "p".repeat(64);
            assertEquals(longest, minimal().name(longest).build().name());
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> PoolConfig.builder().name(longest + "p"));
            assertMessageContains(e, "name", longest + "p", "64");
        }
    }

    @Nested
    class Durations {
        private final List<SetterCase> positiveSettings = List.of(
                new SetterCase("startupTimeout", PoolConfig.Builder::startupTimeout),
                new SetterCase("heartbeatTimeout", PoolConfig.Builder::heartbeatTimeout),
                new SetterCase("defaultTaskTimeout", PoolConfig.Builder::defaultTaskTimeout),
                new SetterCase("cancelGracePeriod", PoolConfig.Builder::cancelGracePeriod),
                new SetterCase("stopGracePeriod", PoolConfig.Builder::stopGracePeriod),
                new SetterCase("heartbeatInterval", PoolConfig.Builder::heartbeatInterval));

        record SetterCase(String setting, BiConsumer<PoolConfig.Builder, Duration> setter) {
        }

        @Test
        void zeroIsRejectedByPositiveSettings() {
            for (SetterCase c : positiveSettings) {
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                        () -> c.setter().accept(PoolConfig.builder(), Duration.ZERO), c.setting());
                assertMessageContains(e, c.setting(), "PT0S");
            }
        }

        @Test
        void negativeIsRejectedByPositiveSettings() {
            for (SetterCase c : positiveSettings) {
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                        () -> c.setter().accept(PoolConfig.builder(), Duration.ofSeconds(-5)), c.setting());
                assertMessageContains(e, c.setting(), "PT-5S");
            }
        }

        @Test
        void positiveSettingsSayWhatIsAllowed() {
            for (SetterCase c : positiveSettings) {
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                        () -> c.setter().accept(PoolConfig.builder(), Duration.ofMillis(-1)), c.setting());
                String message = e.getMessage();
                assertTrue(message.contains("positive") || message.contains("between"), message);
            }
        }

        @Test
        void nullIsRejectedWithTheSettingName() {
            for (SetterCase c : positiveSettings) {
                NullPointerException e = assertThrows(NullPointerException.class,
                        () -> c.setter().accept(PoolConfig.builder(), null), c.setting());
                assertMessageContains(e, c.setting());
            }
            assertMessageContains(assertThrows(NullPointerException.class,
                    () -> PoolConfig.builder().shutdownTimeout(null)), "shutdownTimeout");
        }

        @Test
        void shutdownTimeoutAcceptsZeroButNotNegative() {
            assertEquals(Duration.ZERO, minimal().shutdownTimeout(Duration.ZERO).build().shutdownTimeout());
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> PoolConfig.builder().shutdownTimeout(Duration.ofMillis(-1)));
            assertMessageContains(e, "shutdownTimeout", "zero or positive", "PT-0.001S");
        }

        @Test
        void heartbeatIntervalBounds() {
            IllegalArgumentException tooShort = assertThrows(IllegalArgumentException.class,
                    () -> PoolConfig.builder().heartbeatInterval(Duration.ofMillis(9)));
            assertMessageContains(tooShort, "heartbeatInterval", "10ms", "1h", "PT0.009S");
            IllegalArgumentException tooLong = assertThrows(IllegalArgumentException.class,
                    () -> PoolConfig.builder().heartbeatInterval(Duration.ofHours(1).plusNanos(1)));
            assertMessageContains(tooLong, "heartbeatInterval", "10ms", "1h");

            assertEquals(Duration.ofMillis(10), minimal().heartbeatInterval(Duration.ofMillis(10))
                    .build().heartbeatInterval());
            assertEquals(Duration.ofHours(1), minimal().heartbeatInterval(Duration.ofHours(1))
                    .heartbeatTimeout(Duration.ofHours(2)).build().heartbeatInterval());
        }

        @Test
        void heartbeatTimeoutShorterThanTwiceTheIntervalFailsInBuild() {
            PoolConfig.Builder builder = minimal()
                    .heartbeatInterval(Duration.ofSeconds(1))
                    .heartbeatTimeout(Duration.ofMillis(1999));
            IllegalStateException e = assertThrows(IllegalStateException.class, builder::build);
            assertMessageContains(e, "heartbeatTimeout", "heartbeatInterval", "PT1S", "PT1.999S", "twice");
        }

        @Test
        void heartbeatTimeoutOfExactlyTwiceTheIntervalIsAccepted() {
            PoolConfig config = minimal()
                    .heartbeatInterval(Duration.ofSeconds(1))
                    .heartbeatTimeout(Duration.ofSeconds(2))
                    .build();
            assertEquals(Duration.ofSeconds(2), config.heartbeatTimeout());
        }

        @Test
        void heartbeatCombinationIsCheckedOnlyInBuildSoSetterOrderDoesNotMatter() {
            // Raising the interval above half the default timeout first must not fail at the setter.
            PoolConfig config = minimal()
                    .heartbeatInterval(Duration.ofSeconds(6))
                    .heartbeatTimeout(Duration.ofSeconds(12))
                    .build();
            assertEquals(Duration.ofSeconds(6), config.heartbeatInterval());
            assertEquals(Duration.ofSeconds(12), config.heartbeatTimeout());
        }

        @Test
        void raisingOnlyTheIntervalAgainstTheDefaultTimeoutFailsInBuild() {
            PoolConfig.Builder builder = minimal().heartbeatInterval(Duration.ofSeconds(6));
            IllegalStateException e = assertThrows(IllegalStateException.class, builder::build);
            assertMessageContains(e, "PT6S", "PT10S");
        }
    }

    @Nested
    class MaxFrameBytes {
        @ParameterizedTest
        @ValueSource(ints = {0, -1, 1023, (1 << 30) + 1, Integer.MAX_VALUE})
        void outOfRangeIsRejected(int bytes) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> PoolConfig.builder().maxFrameBytes(bytes));
            assertMessageContains(e, "maxFrameBytes", String.valueOf(bytes), "1024", "1073741824");
        }

        @ParameterizedTest
        @ValueSource(ints = {1024, 65536, 1 << 30})
        void boundsAreInclusive(int bytes) {
            assertEquals(bytes, minimal().maxFrameBytes(bytes).build().maxFrameBytes());
        }

        @Test
        void constantsMatchTheDocumentation() {
            assertEquals(1024, PoolConfig.MIN_FRAME_BYTES);
            assertEquals(1 << 30, PoolConfig.MAX_FRAME_BYTES);
            assertEquals(16 << 20, PoolConfig.DEFAULT_MAX_FRAME_BYTES);
        }
    }

    @Nested
    class DeadLetterMaxBytes {
        @Test
        void theDefaultIs64MiB() {
            assertEquals(64L * 1024 * 1024, minimal().build().deadLetterMaxBytes());
            assertEquals(PoolConfig.DEFAULT_DEAD_LETTER_MAX_BYTES, minimal().build().deadLetterMaxBytes());
            assertTrue(minimal().build().toString().contains("deadLetterMaxBytes=67108864"));
        }

        @ParameterizedTest
        @ValueSource(longs = {Long.MIN_VALUE, -1, 0, 1023, (1L << 40) + 1, Long.MAX_VALUE})
        void outOfRangeIsRejectedNamingTheSettingTheValueAndTheRange(long bytes) {
            PoolConfig.Builder builder = minimal();
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> builder.deadLetterMaxBytes(bytes));
            assertMessageContains(e, "deadLetterMaxBytes", String.valueOf(bytes), "1024", "1099511627776");
            assertEquals(PoolConfig.DEFAULT_DEAD_LETTER_MAX_BYTES, builder.build().deadLetterMaxBytes(),
                    "a refused value changes nothing");
        }

        @ParameterizedTest
        @ValueSource(longs = {1024, 1L << 20, 1L << 40})
        void boundsAreInclusive(long bytes) {
            assertEquals(bytes, minimal().deadLetterMaxBytes(bytes).build().deadLetterMaxBytes());
        }
    }

    @Nested
    class Immutability {
        @Test
        void groupsListIsUnmodifiable() {
            PoolConfig config = minimal().build();
            assertThrows(UnsupportedOperationException.class,
                    () -> config.groups().add(WorkerGroup.builder("x", SPEC).build()));
            assertThrows(UnsupportedOperationException.class, () -> config.groups().clear());
        }

        @Test
        void changingTheBuilderAfterBuildDoesNotChangeTheConfig() {
            WorkerGroup a = WorkerGroup.builder("a", SPEC).build();
            PoolConfig.Builder builder = PoolConfig.builder().group(a).name("first");
            PoolConfig first = builder.build();

            builder.group(WorkerGroup.builder("b", SPEC).build()).name("second").maxFrameBytes(4096);
            PoolConfig second = builder.build();

            assertEquals(List.of(a), first.groups());
            assertEquals("first", first.name());
            assertEquals(PoolConfig.DEFAULT_MAX_FRAME_BYTES, first.maxFrameBytes());
            assertEquals(2, second.groups().size());
            assertEquals("second", second.name());
        }

        @Test
        void mutatingTheCommandListAfterBuildingDoesNotChangeTheConfig() {
            List<String> argv = new ArrayList<>(List.of("python3", "worker.py"));
            PoolConfig config = PoolConfig.builder().command(argv).build();
            argv.set(0, "rm");
            argv.add("-rf");
            WorkerSpec.Command spec = (WorkerSpec.Command) config.groups().get(0).spec();
            assertEquals(List.of("python3", "worker.py"), spec.argv());
        }

        @Test
        void aFailedSetterLeavesThePreviousValue() {
            PoolConfig.Builder builder = minimal().workers(4).maxFrameBytes(4096);
            assertThrows(IllegalArgumentException.class, () -> builder.workers(0));
            assertThrows(IllegalArgumentException.class, () -> builder.maxFrameBytes(1));
            PoolConfig config = builder.build();
            assertEquals(4, config.groups().get(0).workers());
            assertEquals(4096, config.maxFrameBytes());
            assertFalse(config.defaultTaskTimeout().isPresent());
        }
    }
}
