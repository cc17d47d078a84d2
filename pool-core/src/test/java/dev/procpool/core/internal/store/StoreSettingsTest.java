package dev.procpool.core.internal.store;

import dev.procpool.TaskStore;
import dev.procpool.FailureReason;
import dev.procpool.RetryPolicy;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class StoreSettingsTest {
    @Test
    void defaults() {
        StoreSettings settings = StoreSettings.defaults();
        assertEquals("procpool_", settings.tablePrefix());
        assertTrue(settings.schema().isEmpty());
        assertEquals(Duration.ofSeconds(30), settings.leaseTimeout());
        assertEquals(Duration.ofDays(7), settings.retention());
        assertEquals(Duration.ofDays(30), settings.deadLetterRetention());
        assertEquals(Duration.ofMillis(250), settings.pollInterval());
        assertEquals(TaskStore.Durable.SqliteSync.FULL, settings.sqliteSync());
    }

    @Test
    void badValuesNameTheSettingTheValueAndWhatIsAllowed() {
        assertEquals("tablePrefix must be 1 to 30 characters: a lower-case letter, then lower-case letters, digits "
                + "or '_', was \"Jobs; DROP\"", assertThrows(IllegalArgumentException.class,
                () -> StoreSettings.builder().tablePrefix("Jobs; DROP")).getMessage());
        assertEquals("schema must be 1 to 63 lower-case letters, digits or '_', not starting with a digit, was "
                + "\"1x\"", assertThrows(IllegalArgumentException.class,
                () -> StoreSettings.builder().schema("1x")).getMessage());
        assertEquals("leaseTimeout must be between PT0.1S and PT1H, was PT0S", assertThrows(
                IllegalArgumentException.class, () -> StoreSettings.builder().leaseTimeout(Duration.ZERO))
                .getMessage());
        assertEquals("pollInterval must be between PT0.01S and PT1M, was PT2M", assertThrows(
                IllegalArgumentException.class, () -> StoreSettings.builder().pollInterval(Duration.ofMinutes(2)))
                .getMessage());
        assertEquals("maxBatchTasks must be between 1 and 100000, was 0", assertThrows(
                IllegalArgumentException.class, () -> StoreSettings.builder().maxBatchTasks(0)).getMessage());
        assertEquals("host name must be 1 to 200 printable ASCII characters without spaces, was \"a b\"",
                assertThrows(IllegalArgumentException.class, () -> new HostIdentity("a b", null, 1, null))
                        .getMessage());
    }

    @Test
    void aSqliteStoreHasNoSchema(@org.junit.jupiter.api.io.TempDir Path folder) {
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> TaskStores
                .sqlite(folder.resolve("x.db")).settings(StoreSettings.builder().schema("jobs").build()).build());
        assertTrue(e.getMessage().contains("schema is a PostgreSQL setting"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> TaskStores.sqlite(folder).build());
    }

    @Test
    void retryPoliciesRoundTripThroughTheirJson() {
        RetryPolicy policy = RetryPolicy.builder().maxAttempts(7).initialDelay(Duration.ofMillis(1500))
                .multiplier(3.5).maxDelay(Duration.ofMinutes(2)).jitter(0.1)
                .retryOn(Set.of(FailureReason.HUNG, FailureReason.HOST_LOST)).retryFirstCrashAtOnce(false).build();
        String json = StoreJson.retryPolicy(policy);
        assertEquals("{\"maxAttempts\":7,\"initialDelay\":\"PT1.5S\",\"multiplier\":3.5,\"maxDelay\":\"PT2M\","
                + "\"jitter\":0.1,\"firstCrashAtOnce\":false,\"retryOn\":[\"HOST_LOST\",\"HUNG\"]}", json);
        assertEquals(policy.toString(), StoreJson.retryPolicy(json).toString());
        RetryPolicy fromOlder = StoreJson.retryPolicy(json.replace("\"firstCrashAtOnce\":false,", ""));
        assertTrue(fromOlder.retriesFirstCrashAtOnce(), "a row written before the setting existed gets its default");
        RetryPolicy fromNewer = StoreJson.retryPolicy(json.replace("\"HUNG\"", "\"SOMETHING_NEW\""));
        assertEquals(Set.of(FailureReason.HOST_LOST), fromNewer.retryOn());
    }

    @Test
    void capabilitySetsAreStoredSortedAndNoneAsNull() {
        assertNull(StoreJson.stringSet(Set.of()));
        assertEquals("[\"a\",\"b\\\"c\",\"z\"]", StoreJson.stringSet(Set.of("z", "a", "b\"c")));
        assertEquals(Set.of("z", "a", "b\"c"), StoreJson.stringSet("[\"a\",\"b\\\"c\",\"z\"]"));
        assertEquals(List.of("x\ny"), StoreJson.stringList(StoreJson.stringList(List.of("x\ny"))));
    }
}
