package dev.procpool.core.internal.retry;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.procpool.AttemptRecord;
import dev.procpool.DeadLetter;
import dev.procpool.FailureReason;
import dev.procpool.RemoteError;
import dev.procpool.RetryPolicy;
import dev.procpool.TaskHandle;
import dev.procpool.TaskRejectedException;
import dev.procpool.TaskRequest;
import dev.procpool.TaskResult;
import dev.procpool.TaskState;
import dev.procpool.core.internal.protocol.FrameCodec;
import org.junit.jupiter.api.Test;

import java.lang.ref.WeakReference;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.function.Function;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class DeadLettersTest {
    private final List<TaskRequest> submitted = new ArrayList<>();
    private final Function<TaskRequest, TaskHandle> recordingSubmitter = request -> {
        submitted.add(request);
        return new StubHandle(request);
    };

    private static DeadLetter letter(String taskId) {
        return letter(taskId, "\"" + taskId + "\"");
    }

    private static DeadLetter letter(String taskId, String payloadJson) {
        AttemptRecord attempt = new AttemptRecord(1, "w-1", 4242, FailureReason.WORKER_CRASHED, "exit code 1", 1,
                null, Duration.ofMillis(5), 0, List.of("boom"), null);
        return new DeadLetter(taskId, "work", 10, payloadJson, FailureReason.WORKER_CRASHED, "crashed",
                List.of(attempt), Instant.parse("2024-01-01T00:00:00Z"));
    }

    /** A payload as the pool's codec writes it into a task frame. */
    private static String json(Object payload) throws Exception {
        return new String(FrameCodec.newMapper().writeValueAsBytes(payload), StandardCharsets.UTF_8);
    }

    private static TaskRequest request(String payload) {
        return TaskRequest.of("work", payload);
    }

    private static List<String> ids(DeadLetters letters) {
        return letters.list().stream().map(DeadLetter::taskId).toList();
    }

    @Test
    void entries_are_kept_oldest_first_and_found_by_id() {
        DeadLetters letters = new DeadLetters(10, recordingSubmitter);
        assertTrue(letters.add(letter("a"), request("a")));
        assertTrue(letters.add(letter("b"), request("b")));
        assertEquals(List.of("a", "b"), ids(letters));
        assertEquals(2, letters.size());
        assertEquals(10, letters.capacity());
        assertEquals("\"b\"", letters.get("b").orElseThrow().payloadJson());
        assertTrue(letters.get("zzz").isEmpty());
    }

    @Test
    void when_full_the_oldest_entry_is_evicted_and_counted() {
        DeadLetters letters = new DeadLetters(2, recordingSubmitter);
        letters.add(letter("a"), request("a"));
        letters.add(letter("b"), request("b"));
        assertEquals(0, letters.evicted());
        letters.add(letter("c"), request("c"));
        assertEquals(List.of("b", "c"), ids(letters));
        assertEquals(1, letters.evicted());
        letters.add(letter("d"), request("d"));
        letters.add(letter("e"), request("e"));
        assertEquals(List.of("d", "e"), ids(letters));
        assertEquals(3, letters.evicted());
        assertEquals(5, letters.added());
        assertEquals(2, letters.size());
    }

    @Test
    void a_task_dead_lettered_again_replaces_its_entry_without_eviction() {
        DeadLetters letters = new DeadLetters(2, recordingSubmitter);
        letters.add(letter("a"), request("a"));
        letters.add(letter("b"), request("b"));
        letters.add(letter("a"), request("a"));
        assertEquals(List.of("b", "a"), ids(letters), "the new entry is the newest");
        assertEquals(0, letters.evicted());
        assertEquals(2, letters.size());
    }

    @Test
    void capacity_zero_keeps_nothing() {
        DeadLetters letters = new DeadLetters(0, recordingSubmitter);
        assertFalse(letters.add(letter("a"), request("a")));
        assertEquals(0, letters.size());
        assertEquals(List.of(), letters.list());
        assertTrue(letters.get("a").isEmpty());
        assertEquals(0, letters.added());
        assertEquals(0, letters.evicted());
        assertThrows(IllegalArgumentException.class, () -> letters.redrive("a"));
    }

    @Test
    void redrive_removes_the_entry_and_submits_the_request_with_the_task_id() throws Exception {
        DeadLetters letters = new DeadLetters(10, recordingSubmitter);
        TaskRequest original = request("x").withPriority(3);
        letters.add(letter("t-7", "\"x\""), original);
        letters.add(letter("other"), request("o"));

        TaskHandle handle = letters.redrive("t-7");
        assertEquals(1, submitted.size());
        TaskRequest resubmitted = submitted.get(0);
        assertEquals("t-7", resubmitted.id().orElseThrow(), "a generated id is kept");
        assertEquals("work", resubmitted.type());
        assertEquals(3, resubmitted.priority());
        assertEquals("\"x\"", json(resubmitted.payload()));
        assertSame(resubmitted, handle.request());
        assertTrue(letters.get("t-7").isEmpty());
        assertEquals(List.of("other"), ids(letters));
    }

    @Test
    void redrive_keeps_every_setting_of_the_request_and_sends_the_same_json() throws Exception {
        DeadLetters letters = new DeadLetters(10, recordingSubmitter);
        // numbers a tree would change (a double, a long beyond 2^53), text beyond Latin-1, nesting
        String payloadJson = "{\"p\":0.1000000000000000055511151231257827,\"n\":12345678901234567890123,"
                + "\"s\":\"h\\u00e9llo \u65e5\u672c \\\"q\\\"\",\"a\":[1,{\"b\":null}],\"e\":1E+400}";
        RetryPolicy retry = RetryPolicy.builder().maxAttempts(5).build();
        TaskRequest original = request("ignored: the letter holds the payload").withId("mine").withPriority(42)
                .withTimeout(Duration.ofSeconds(9)).withRetryPolicy(retry).withRequiredCapabilities("gpu", "x86")
                .withAffinityKey("key-1");
        letters.add(letter("mine", payloadJson), original);

        letters.redrive("mine");

        TaskRequest again = submitted.get(0);
        assertEquals("mine", again.id().orElseThrow());
        assertEquals("work", again.type());
        assertEquals(42, again.priority());
        assertEquals(Duration.ofSeconds(9), again.timeout().orElseThrow());
        assertSame(retry, again.retryPolicy().orElseThrow());
        assertEquals(Set.of("gpu", "x86"), again.requiredCapabilities());
        assertEquals("key-1", again.affinityKey().orElseThrow());
        assertEquals(payloadJson, json(again.payload()), "the pool's mapper writes the JSON as it was sent");
        assertEquals(payloadJson, new ObjectMapper().writeValueAsString(again.payload()), "and so does any mapper");
    }

    @Test
    void redrive_of_a_null_payload_sends_null() throws Exception {
        DeadLetters letters = new DeadLetters(10, recordingSubmitter);
        letters.add(letter("n", "null"), request(null));
        letters.redrive("n");
        assertEquals("null", json(submitted.get(0).payload()));
    }

    @Test
    void the_payload_is_held_once_as_json_not_also_as_the_submitted_object() {
        DeadLetters letters = new DeadLetters(10, recordingSubmitter);
        Object payload = new byte[1 << 20];
        WeakReference<Object> submittedPayload = new WeakReference<>(payload);
        letters.add(letter("big", "\"the payload as json\""), request(null).withId("big").withPriority(7));
        TaskRequest withPayload = TaskRequest.of("work", payload).withId("held");
        letters.add(letter("held", "\"the payload as json\""), withPayload);
        payload = null;
        withPayload = null;

        await().atMost(Duration.ofSeconds(20)).until(() -> {
            System.gc();
            return submittedPayload.get() == null;
        });
        assertEquals(2, letters.size());
    }

    // ------------------------------------------------------------------ the byte bound

    @Test
    void the_size_of_an_entry_counts_its_text_as_the_jvm_holds_it() {
        DeadLetter latin1 = letter("a", "\"" + "x".repeat(10_000) + "\"");
        DeadLetter wide = letter("a", "\"" + "\u65e5".repeat(10_000) + "\"");
        long base = DeadLetters.sizeOf(letter("a", ""));
        assertEquals(10_002, DeadLetters.sizeOf(latin1) - base);
        assertEquals(2 * 10_002, DeadLetters.sizeOf(wide) - base);

        AttemptRecord attempt = new AttemptRecord(1, "w-1", 1, FailureReason.HANDLER_ERROR, "", null, null,
                Duration.ZERO, 0, List.of("y".repeat(5_000)), new RemoteError("E", "m".repeat(3_000),
                "s".repeat(7_000)));
        DeadLetter withForensics = new DeadLetter("a", "work", 10, "", FailureReason.HANDLER_ERROR, "crashed",
                List.of(attempt), Instant.EPOCH);
        assertTrue(DeadLetters.sizeOf(withForensics) - base > 5_000 + 3_000 + 7_000 - 100, "output tails and remote stacks count");
    }

    @Test
    void the_oldest_entries_are_evicted_to_stay_within_the_byte_bound_and_counted() {
        String payload = "\"" + "p".repeat(10_000) + "\"";
        long entry = DeadLetters.sizeOf(letter("a", payload));
        DeadLetters letters = new DeadLetters(1000, 3 * entry, recordingSubmitter);
        for (String id : List.of("a", "b", "c")) {
            assertTrue(letters.add(letter(id, payload), request(null)));
        }
        assertEquals(3 * entry, letters.bytes());
        assertEquals(0, letters.evicted());

        assertTrue(letters.add(letter("d", payload), request(null)));
        assertEquals(List.of("b", "c", "d"), ids(letters));
        assertEquals(1, letters.evicted());
        assertEquals(3 * entry, letters.bytes());

        // a larger entry makes room for itself by evicting the two oldest
        DeadLetter big = letter("e", "\"" + "p".repeat(20_000) + "\"");
        assertTrue(DeadLetters.sizeOf(big) > entry && DeadLetters.sizeOf(big) <= 2 * entry);
        assertTrue(letters.add(big, request(null)));
        assertEquals(List.of("d", "e"), ids(letters));
        assertEquals(3, letters.evicted());
        assertEquals(entry + DeadLetters.sizeOf(big), letters.bytes());
        assertTrue(letters.bytes() <= letters.maxBytes());
        assertEquals(5, letters.added());
    }

    @Test
    void an_entry_larger_than_the_whole_bound_is_not_kept_and_evicts_nothing() {
        DeadLetters letters = new DeadLetters(1000, 4096, recordingSubmitter);
        assertTrue(letters.add(letter("small"), request(null)));
        long before = letters.bytes();

        assertFalse(letters.add(letter("huge", "\"" + "h".repeat(5000) + "\""), request(null)));

        assertEquals(List.of("small"), ids(letters));
        assertEquals(before, letters.bytes());
        assertEquals(0, letters.evicted());
        assertEquals(1, letters.tooLarge());
        assertEquals(1, letters.added());
    }

    @Test
    void bytes_are_given_back_by_remove_purge_redrive_and_replacement() {
        DeadLetters letters = new DeadLetters(1000, 1 << 20, recordingSubmitter);
        letters.add(letter("a"), request(null));
        long one = letters.bytes();
        letters.add(letter("b"), request(null));
        letters.add(letter("c"), request(null));
        assertEquals(3 * one, letters.bytes());

        letters.add(letter("a"), request(null)); // replaces its own entry
        assertEquals(3 * one, letters.bytes());
        letters.remove("b");
        assertEquals(2 * one, letters.bytes());
        letters.redrive("c");
        assertEquals(one, letters.bytes());
        letters.purge();
        assertEquals(0, letters.bytes());
    }

    @Test
    void a_refused_redrive_puts_the_entry_back_within_the_bounds() {
        TaskRejectedException refused = new TaskRejectedException(TaskRejectedException.Kind.QUEUE_FULL, "full");
        long entry = DeadLetters.sizeOf(letter("a"));
        DeadLetters letters = new DeadLetters(2, 2 * entry, request -> {
            throw refused;
        });
        letters.add(letter("a"), request(null));
        letters.add(letter("b"), request(null));
        assertThrows(TaskRejectedException.class, () -> letters.redrive("a"));
        assertEquals(List.of("b", "a"), ids(letters), "kept, as the newest");
        assertEquals(2 * entry, letters.bytes());
        assertEquals(0, letters.evicted());
    }

    @Test
    void bad_bounds_are_refused_naming_the_value() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new DeadLetters(10, 0, recordingSubmitter));
        assertTrue(e.getMessage().contains("maxBytes") && e.getMessage().contains("0"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> new DeadLetters(-1, 100, recordingSubmitter));
        assertTrue(e.getMessage().contains("capacity") && e.getMessage().contains("-1"), e.getMessage());
    }

    @Test
    void redrive_keeps_the_entry_when_the_submission_is_refused() {
        TaskRejectedException refused = new TaskRejectedException(TaskRejectedException.Kind.SHUT_DOWN, "shut down");
        DeadLetters letters = new DeadLetters(10, request -> {
            throw refused;
        });
        letters.add(letter("a"), request("a"));
        TaskRejectedException thrown = assertThrows(TaskRejectedException.class, () -> letters.redrive("a"));
        assertSame(refused, thrown);
        assertTrue(letters.get("a").isPresent());
        assertEquals(1, letters.size());
        // and it can be redriven once the pool takes it
    }

    @Test
    void redrive_of_an_unknown_id_is_an_error_naming_it() {
        DeadLetters letters = new DeadLetters(10, recordingSubmitter);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> letters.redrive("ghost"));
        assertTrue(e.getMessage().contains("ghost"), e.getMessage());
        assertThrows(NullPointerException.class, () -> letters.redrive(null));
        assertTrue(submitted.isEmpty());
    }

    @Test
    void remove_and_purge() {
        DeadLetters letters = new DeadLetters(10, recordingSubmitter);
        letters.add(letter("a"), request("a"));
        letters.add(letter("b"), request("b"));
        letters.add(letter("c"), request("c"));
        assertTrue(letters.remove("b"));
        assertFalse(letters.remove("b"));
        assertEquals(List.of("a", "c"), ids(letters));
        assertEquals(2, letters.purge());
        assertEquals(0, letters.size());
        assertEquals(0, letters.purge());
        assertEquals(3, letters.added(), "purging does not change the running totals");
        assertEquals(0, letters.evicted());
    }

    @Test
    void the_list_is_a_copy() {
        DeadLetters letters = new DeadLetters(10, recordingSubmitter);
        letters.add(letter("a"), request("a"));
        List<DeadLetter> snapshot = letters.list();
        letters.add(letter("b"), request("b"));
        assertEquals(1, snapshot.size());
    }

    /** The smallest TaskHandle: only what redrive's callers look at. */
    private record StubHandle(TaskRequest request) implements TaskHandle {
        @Override
        public String id() {
            return request.id().orElseThrow();
        }

        @Override
        public TaskState state() {
            return TaskState.QUEUED;
        }

        @Override
        public CompletableFuture<TaskResult> future() {
            return new CompletableFuture<>();
        }

        @Override
        public TaskResult join() {
            throw new UnsupportedOperationException();
        }

        @Override
        public TaskResult await(Duration timeout) {
            throw new UnsupportedOperationException();
        }

        @Override
        public java.util.Optional<String> workerId() {
            return java.util.Optional.empty();
        }

        @Override
        public boolean cancel() {
            return false;
        }

        @Override
        public TaskHandle onProgress(java.util.function.Consumer<dev.procpool.TaskProgress> listener) {
            return this;
        }
    }
}
