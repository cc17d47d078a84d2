package dev.procpool.core.internal.retry;

import dev.procpool.AttemptRecord;
import dev.procpool.DeadLetter;
import dev.procpool.FailureReason;
import dev.procpool.TaskHandle;
import dev.procpool.TaskRejectedException;
import dev.procpool.TaskRequest;
import dev.procpool.TaskResult;
import dev.procpool.TaskState;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.function.Function;

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
        AttemptRecord attempt = new AttemptRecord(1, "w-1", 4242, FailureReason.WORKER_CRASHED, "exit code 1", 1,
                null, Duration.ofMillis(5), 0, List.of("boom"), null);
        return new DeadLetter(taskId, "work", 10, "\"" + taskId + "\"", FailureReason.WORKER_CRASHED, "crashed",
                List.of(attempt), Instant.parse("2024-01-01T00:00:00Z"));
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
    void redrive_removes_the_entry_and_submits_the_request_with_the_task_id() {
        DeadLetters letters = new DeadLetters(10, recordingSubmitter);
        TaskRequest original = request("x").withPriority(3);
        letters.add(letter("t-7"), original);
        letters.add(letter("other"), request("o"));

        TaskHandle handle = letters.redrive("t-7");
        assertEquals(1, submitted.size());
        TaskRequest resubmitted = submitted.get(0);
        assertEquals("t-7", resubmitted.id().orElseThrow(), "a generated id is kept");
        assertEquals("work", resubmitted.type());
        assertEquals(3, resubmitted.priority());
        assertEquals("x", resubmitted.payload());
        assertSame(resubmitted, handle.request());
        assertTrue(letters.get("t-7").isEmpty());
        assertEquals(List.of("other"), ids(letters));
    }

    @Test
    void redrive_of_a_request_with_its_own_id_submits_it_unchanged() {
        DeadLetters letters = new DeadLetters(10, recordingSubmitter);
        TaskRequest original = request("x").withId("mine");
        letters.add(letter("mine"), original);
        letters.redrive("mine");
        assertSame(original, submitted.get(0));
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
        public boolean cancel() {
            return false;
        }

        @Override
        public TaskHandle onProgress(java.util.function.Consumer<dev.procpool.TaskProgress> listener) {
            return this;
        }
    }
}
