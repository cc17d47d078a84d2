package dev.procpool.core.it;

import dev.procpool.FailureReason;
import dev.procpool.PoolConfig;
import dev.procpool.TaskFailedException;
import dev.procpool.TaskRejectedException;
import dev.procpool.TaskResult;
import dev.procpool.WorkerGroup;
import dev.procpool.WorkerPool;
import dev.procpool.core.json.JacksonPayloads;
import dev.procpool.core.testing.JsonHandlers;
import dev.procpool.core.testing.JsonHandlers.Meeting;
import dev.procpool.core.testing.ProcessLeakCheck;
import dev.procpool.core.testing.TestPools;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The application's Jackson mapper on both sides of a real worker JVM: the host's (PoolConfig.payloadCodec) writes
 * payloads and reads results; each handler's (TaskHandler.payloadCodec) reads its payloads and writes its results.
 * One worker serves three handlers: two with mappers of their own, one with the built-in codec.
 */
class PayloadCodecIT {
    private static final Duration ANSWER = Duration.ofSeconds(30);
    private static final Instant AT = Instant.parse("2030-01-02T03:04:05.123Z");

    private static ProcessLeakCheck leaks;
    private static WorkerPool pool;
    private static long workerPid;

    @BeforeAll
    static void startPool() {
        leaks = ProcessLeakCheck.start();
        pool = WorkerPool.builder().name("payload-codecs")
                .group(WorkerGroup.builder(PoolConfig.DEFAULT_GROUP, TestPools.javaWorker(JsonHandlers.Scheduler.class,
                        JsonHandlers.Stamper.class, JsonHandlers.Plain.class)).workers(1).build())
                .payloadCodec(JacksonPayloads.using(JsonHandlers.applicationMapper()))
                .start();
        workerPid = pool.workers().get(0).pid();
    }

    @AfterAll
    static void nothingLeftBehind() {
        try {
            pool.close();
        } finally {
            leaks.assertNoneLeft(Duration.ofSeconds(10));
        }
    }

    @Test
    void anInstantAndAnOptionalTravelToAWorkerJvmAndBack() {
        TaskResult result = pool.submitTask("postpone", new Meeting("review", AT, Optional.of("B2"))).await(ANSWER);
        assertNotEquals(ProcessHandle.current().pid(), result.workerPid(), "ran in a worker process");
        assertEquals(new Meeting("review", AT.plusSeconds(3600), Optional.of("B2+")), result.as(Meeting.class));
        assertEquals("{\"title\":\"review\",\"at\":\"2030-01-02T04:04:05.123Z\",\"room\":\"B2+\"}", result.json(),
                "the handler's mapper wrote it");

        Meeting roomless = pool.submitTask("postpone", new Meeting("stand-up", AT, Optional.empty())).await(ANSWER)
                .as(Meeting.class);
        assertEquals(Optional.of("any"), roomless.room(), "an empty Optional reached the handler as one");
    }

    @Test
    void eachHandlerOfOneWorkerUsesItsOwnMapper() {
        TaskResult stamped = pool.submitTask("stamp", AT).await(ANSWER);
        assertEquals("{\"at\":" + AT.getEpochSecond() + ".123000000}", stamped.json(),
                "this handler's mapper writes epoch seconds");
        TaskResult postponed = pool.submitTask("postpone", new Meeting("x", AT, Optional.empty())).await(ANSWER);
        assertTrue(postponed.json().contains("\"at\":\"2030-01-02T04:04:05.123Z\""), "and this one ISO-8601 text: "
                + postponed.json());
        assertEquals(workerPid, stamped.workerPid(), "one worker serves both");

        TaskFailedException builtIn = assertThrows(TaskFailedException.class,
                () -> pool.submitTask("now", null).await(ANSWER));
        assertEquals(FailureReason.HANDLER_ERROR, builtIn.reason());
        assertTrue(builtIn.getMessage().contains("(java.time.Instant) cannot be written as JSON by the built-in "
                + "Jackson mapper"), builtIn.getMessage());
    }

    @Test
    void aPayloadWithNothingToWriteIsRefusedAtSubmit() {
        TaskRejectedException refused = assertThrows(TaskRejectedException.class,
                () -> pool.submitTask("echo-json", new JsonHandlers.Sealed()));
        assertEquals(TaskRejectedException.Kind.INVALID_PAYLOAD, refused.kind());
        assertTrue(refused.getMessage().startsWith("the payload of a \"echo-json\" task ("
                + JsonHandlers.Sealed.class.getName() + ") cannot be written as JSON by JacksonPayloads.using("),
                refused.getMessage());
        assertEquals(Map.of("still", "served"), pool.submitTask("echo-json", Map.of("still", "served"))
                .await(ANSWER).as(Map.class));
    }

    @Test
    void aResultWithNothingToWriteFailsTheTaskReadablyAndKeepsTheWorker() {
        TaskFailedException failed = assertThrows(TaskFailedException.class,
                () -> pool.submitTask("sealed", null).await(ANSWER));
        assertEquals(FailureReason.HANDLER_ERROR, failed.reason());
        assertEquals(1, failed.attempts(), "not retried: the same result fails the same way");
        assertEquals("ResultNotWritable", failed.remoteError().orElseThrow().className());
        assertTrue(failed.getMessage().contains("(" + JsonHandlers.Sealed.class.getName() + ") cannot be written as "
                + "JSON by the built-in Jackson mapper: No serializer found for class "
                + JsonHandlers.Sealed.class.getName()), failed.getMessage());
        assertEquals(workerPid, pool.workers().get(0).pid(), "the worker was kept");
    }
}
