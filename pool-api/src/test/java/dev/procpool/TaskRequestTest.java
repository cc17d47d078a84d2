package dev.procpool;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.time.Duration;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class TaskRequestTest {

    private static void assertMessageContains(Throwable thrown, String... parts) {
        String message = thrown.getMessage();
        assertNotNull(message, "exception has no message");
        for (String part : parts) {
            assertTrue(message.contains(part), () -> "message \"" + message + "\" should contain \"" + part + "\"");
        }
    }

    @Test
    void ofHasTheDocumentedDefaults() {
        Map<String, Integer> payload = Map.of("w", 64);
        TaskRequest request = TaskRequest.of("resize", payload);
        assertEquals("resize", request.type());
        assertSame(payload, request.payload());
        assertEquals(TaskRequest.DEFAULT_PRIORITY, request.priority());
        assertEquals(10, request.priority());
        assertTrue(request.timeout().isEmpty());
        assertTrue(request.id().isEmpty());
    }

    @Test
    void priorityConstantsMatchTheDocumentation() {
        assertEquals(0, TaskRequest.HIGHEST_PRIORITY);
        assertEquals(10, TaskRequest.DEFAULT_PRIORITY);
        assertEquals(100, TaskRequest.LOWEST_PRIORITY);
        assertEquals(200, TaskRequest.MAX_ID_LENGTH);
    }

    @Test
    void payloadMayBeNull() {
        assertNull(TaskRequest.of("ping", null).payload());
    }

    @Test
    void nullTypeFailsWithItsName() {
        NullPointerException e = assertThrows(NullPointerException.class, () -> TaskRequest.of(null, "x"));
        assertMessageContains(e, "type");
    }

    @ParameterizedTest
    @ValueSource(strings = {"", " ", "\t", "\n  "})
    void blankTypeIsRejected(String type) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> TaskRequest.of(type, "x"));
        assertMessageContains(e, "type", "blank");
    }

    @ParameterizedTest
    @ValueSource(ints = {-1, 101, Integer.MIN_VALUE, Integer.MAX_VALUE})
    void priorityOutsideZeroToHundredIsRejected(int priority) {
        TaskRequest request = TaskRequest.of("t", null);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> request.withPriority(priority));
        assertMessageContains(e, "priority", String.valueOf(priority), "0", "100");
    }

    @ParameterizedTest
    @ValueSource(ints = {0, 1, 10, 99, 100})
    void priorityWithinBoundsIsAccepted(int priority) {
        assertEquals(priority, TaskRequest.of("t", null).withPriority(priority).priority());
    }

    @Test
    void zeroTimeoutIsRejected() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> TaskRequest.of("t", null).withTimeout(Duration.ZERO));
        assertMessageContains(e, "timeout", "positive", "PT0S");
    }

    @Test
    void negativeTimeoutIsRejected() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> TaskRequest.of("t", null).withTimeout(Duration.ofMillis(-5)));
        assertMessageContains(e, "timeout", "positive", "PT-0.005S");
    }

    @Test
    void nullTimeoutFailsWithItsName() {
        NullPointerException e = assertThrows(NullPointerException.class,
                () -> TaskRequest.of("t", null).withTimeout(null));
        assertMessageContains(e, "timeout");
    }

    @Test
    void positiveTimeoutIsKept() {
        assertEquals(Duration.ofNanos(1), TaskRequest.of("t", null).withTimeout(Duration.ofNanos(1)).timeout()
                .orElseThrow());
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "has space", "tab\there", "line\nbreak", "caf\u00e9", "del\u007f", "nul\u0000",
            "emoji\uD83D\uDE00"})
    void badIdsAreRejected(String id) {
        TaskRequest request = TaskRequest.of("t", null);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> request.withId(id));
        assertMessageContains(e, "id", "\"" + id + "\"", "200", "printable ASCII");
    }

    @Test
    void idLongerThanTwoHundredIsRejected() {
        String id = "x".repeat(201);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> TaskRequest.of("t", null).withId(id));
        assertMessageContains(e, "id", id, "200");
    }

    @ParameterizedTest
    @ValueSource(strings = {"a", "t-17", "order#42/line:3", "!~\"\\{}"})
    void printableAsciiIdsAreAccepted(String id) {
        assertEquals(id, TaskRequest.of("t", null).withId(id).id().orElseThrow());
    }

    @Test
    void idOfExactlyTwoHundredCharactersIsAccepted() {
        String id = "y".repeat(200);
        assertEquals(id, TaskRequest.of("t", null).withId(id).id().orElseThrow());
    }

    @Test
    void nullIdFailsWithItsName() {
        NullPointerException e = assertThrows(NullPointerException.class,
                () -> TaskRequest.of("t", null).withId(null));
        assertMessageContains(e, "id");
    }

    @Test
    void withMethodsReturnNewRequestsAndLeaveTheOriginalUnchanged() {
        TaskRequest original = TaskRequest.of("t", "payload");
        TaskRequest changed = original.withPriority(3).withTimeout(Duration.ofSeconds(4)).withId("id-1");

        assertNotSame(original, changed);
        assertEquals(TaskRequest.DEFAULT_PRIORITY, original.priority());
        assertTrue(original.timeout().isEmpty());
        assertTrue(original.id().isEmpty());

        assertEquals("t", changed.type());
        assertEquals("payload", changed.payload());
        assertEquals(3, changed.priority());
        assertEquals(Duration.ofSeconds(4), changed.timeout().orElseThrow());
        assertEquals("id-1", changed.id().orElseThrow());
    }

    @Test
    void eachWithMethodKeepsTheOtherSettings() {
        TaskRequest request = TaskRequest.of("t", "p").withId("a").withTimeout(Duration.ofSeconds(1))
                .withPriority(50).withId("b");
        assertEquals("b", request.id().orElseThrow());
        assertEquals(Duration.ofSeconds(1), request.timeout().orElseThrow());
        assertEquals(50, request.priority());
        assertEquals("p", request.payload());
    }

    @Test
    void aRejectedChangeLeavesTheRequestUsable() {
        TaskRequest request = TaskRequest.of("t", null).withPriority(5);
        assertThrows(IllegalArgumentException.class, () -> request.withPriority(101));
        assertEquals(5, request.priority());
    }

    @Test
    void toStringShowsTheSetFields() {
        assertEquals("TaskRequest{type=t, priority=10}", TaskRequest.of("t", "secret payload").toString());
        assertEquals("TaskRequest{type=t, priority=1, timeout=PT2S, id=x}",
                TaskRequest.of("t", null).withPriority(1).withTimeout(Duration.ofSeconds(2)).withId("x").toString());
    }
}
