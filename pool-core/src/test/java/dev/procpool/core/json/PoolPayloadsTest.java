package dev.procpool.core.json;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.procpool.FailureReason;
import dev.procpool.PayloadCodec;
import dev.procpool.PoolConfig;
import dev.procpool.TaskFailedException;
import dev.procpool.TaskHandle;
import dev.procpool.TaskRejectedException;
import dev.procpool.TaskRequest;
import dev.procpool.TaskStore;
import dev.procpool.WorkerGroup;
import dev.procpool.WorkerPool;
import dev.procpool.WorkerSpec;
import dev.procpool.core.testing.JsonHandlers;
import dev.procpool.core.testing.JsonHandlers.Meeting;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Payload codecs through a whole pool, with in-process workers (the same handler runtime as worker JVMs; the real
 * processes are in PayloadCodecIT).
 */
class PoolPayloadsTest {
    private static final Duration ANSWER = Duration.ofSeconds(10);
    private static final Meeting MEETING = new Meeting("review", Instant.parse("2030-01-02T03:04:05.123Z"),
            Optional.of("B2"));

    private static PoolConfig.Builder pool(String name) {
        return WorkerPool.builder().name(name).group(WorkerGroup.builder(PoolConfig.DEFAULT_GROUP,
                WorkerSpec.inProcess(JsonHandlers.Scheduler.class, JsonHandlers.Plain.class)).workers(1).build());
    }

    /** An application's codec that is not Jackson: writes what it is given as text, pretty printed or not JSON. */
    private record Text(String json) implements PayloadCodec {
        @Override
        public byte[] encode(Object value) {
            if (json == null) {
                throw new IllegalStateException("this codec cannot write " + value);
            }
            return json.getBytes(StandardCharsets.UTF_8);
        }

        @Override
        public <T> T decode(byte[] json, Class<T> type) {
            throw new UnsupportedOperationException("reads nothing");
        }

        @Override
        public String toString() {
            return "the Text codec";
        }
    }

    @Test
    void theApplicationsMapperOnTheHostCarriesInstantsAndOptionals() {
        try (WorkerPool pool = pool("codec-host").payloadCodec(JacksonPayloads.using(JsonHandlers.applicationMapper()))
                .start()) {
            Meeting moved = pool.submitTask("postpone", MEETING).await(ANSWER).as(Meeting.class);
            assertEquals(new Meeting("review", MEETING.at().plusSeconds(3600), Optional.of("B2+")), moved);

            Meeting roomless = pool.submitTask("postpone", new Meeting("x", Instant.EPOCH, Optional.empty()))
                    .await(ANSWER).as(Meeting.class);
            assertEquals(Optional.of("any"), roomless.room(), "an empty Optional travelled as null and back");
        }
    }

    @Test
    void aResultKeptInADurableStoreIsReadWithTheApplicationsMapper(@TempDir Path dir) throws Exception {
        try (WorkerPool pool = pool("codec-durable").taskStore(TaskStore.sqlite(dir.resolve("tasks.db")))
                .payloadCodec(JacksonPayloads.using(JsonHandlers.applicationMapper())).start()) {
            pool.submitTask(TaskRequest.of("postpone", MEETING).withId("kept")).await(ANSWER);
            // a handle made after the task ended completes from the store's copy of the result
            TaskHandle late = pool.handle("kept").orElseThrow();
            assertEquals(MEETING.at().plusSeconds(3600), late.future().get(10, TimeUnit.SECONDS).as(Meeting.class).at());
        }
    }

    @Test
    void withoutTheApplicationsMapperAnInstantIsRefusedSayingWhatToAdd() {
        try (WorkerPool pool = pool("codec-none").start()) {
            TaskRejectedException refused = assertThrows(TaskRejectedException.class,
                    () -> pool.submitTask("postpone", MEETING));
            assertEquals(TaskRejectedException.Kind.INVALID_PAYLOAD, refused.kind());
            assertTrue(refused.getMessage().startsWith("the payload of a \"postpone\" task (" + Meeting.class.getName()
                    + ") cannot be written as JSON by the built-in Jackson mapper: "), refused.getMessage());
            assertTrue(refused.getMessage().contains("jackson-datatype-jsr310"), refused.getMessage());
        }
    }

    @Test
    void aPayloadWithNothingToWriteIsRefusedAtSubmitAndNothingElseIsLost() {
        try (WorkerPool pool = pool("codec-empty").start()) {
            var before = pool.submitTask("echo-json", Map.of("n", 1));
            TaskRejectedException refused = assertThrows(TaskRejectedException.class,
                    () -> pool.submitTask("echo-json", new JsonHandlers.Sealed()));
            assertEquals(TaskRejectedException.Kind.INVALID_PAYLOAD, refused.kind());
            assertTrue(refused.getMessage().contains("(" + JsonHandlers.Sealed.class.getName() + ") cannot be "
                    + "written as JSON"), refused.getMessage());
            assertTrue(refused.getMessage().contains("No serializer found for class "
                    + JsonHandlers.Sealed.class.getName()), refused.getMessage());

            assertEquals(Map.of("n", 1), before.await(ANSWER).as(Map.class));
            assertEquals(List.of(2), pool.submitTask("echo-json", List.of(2)).await(ANSWER).as(List.class));
            var tasks = pool.snapshot().tasks();
            assertEquals(2, tasks.submitted(), "the refused task was never accepted");
            assertEquals(2, tasks.completed());
            assertEquals(Map.of(TaskRejectedException.Kind.INVALID_PAYLOAD, 1L), tasks.rejectedByKind());
        }
    }

    @Test
    void aResultWithNothingToWriteFailsTheTaskReadably() {
        try (WorkerPool pool = pool("codec-empty-result").start()) {
            TaskFailedException failed = assertThrows(TaskFailedException.class,
                    () -> pool.submitTask("sealed", null).await(ANSWER));
            assertEquals(FailureReason.HANDLER_ERROR, failed.reason());
            assertEquals("ResultNotWritable", failed.remoteError().orElseThrow().className());
            assertTrue(failed.getMessage().contains("(" + JsonHandlers.Sealed.class.getName() + ") cannot be "
                    + "written as JSON by the built-in Jackson mapper"), failed.getMessage());
            assertEquals("fine", pool.submitTask("echo-json", "fine").await(ANSWER).as(String.class));
        }
    }

    @Test
    void anApplicationsOwnCodecIsCheckedLikeAnyOther() throws Exception {
        String pretty = "{\n  \"list\" : [ 1, 2 ],\r\n  \"text\" : \"a\\nb\"\n}";
        try (WorkerPool pool = pool("codec-pretty").payloadCodec(new Text(pretty)).start()) {
            // pretty printed: it still travels in one line, and comes back the same JSON
            String json = pool.submitTask("echo-json", "ignored").await(ANSWER).json();
            JsonNode echoed = new ObjectMapper().readTree(json);
            assertEquals("a\nb", echoed.get("text").asText());
            assertEquals(2, echoed.get("list").size());
        }
        try (WorkerPool pool = pool("codec-not-json").payloadCodec(new Text("{'single': 'quotes'}")).start()) {
            TaskRejectedException refused = assertThrows(TaskRejectedException.class,
                    () -> pool.submitTask("echo-json", "anything"));
            assertEquals(TaskRejectedException.Kind.INVALID_PAYLOAD, refused.kind());
            assertTrue(refused.getMessage().contains("cannot travel in a frame"), refused.getMessage());
        }
        try (WorkerPool pool = pool("codec-throws").payloadCodec(new Text(null)).start()) {
            TaskRejectedException refused = assertThrows(TaskRejectedException.class,
                    () -> pool.submitTask("echo-json", 42));
            assertEquals(TaskRejectedException.Kind.INVALID_PAYLOAD, refused.kind());
            assertEquals("the payload of a \"echo-json\" task (java.lang.Integer) cannot be written as JSON by the "
                    + "Text codec: this codec cannot write 42", refused.getMessage());
        }
    }
}
