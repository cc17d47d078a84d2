package dev.procpool.core.it;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.procpool.FailureReason;
import dev.procpool.PoolConfig;
import dev.procpool.PoolEvent;
import dev.procpool.TaskFailedException;
import dev.procpool.TaskHandle;
import dev.procpool.TaskProgress;
import dev.procpool.TaskRejectedException;
import dev.procpool.TaskRequest;
import dev.procpool.TaskResult;
import dev.procpool.TaskState;
import dev.procpool.WorkerPool;
import dev.procpool.WorkerSnapshot;
import dev.procpool.WorkerSpec;
import dev.procpool.WorkerState;
import dev.procpool.core.testing.ProcessLeakCheck;
import dev.procpool.core.testing.TestPools;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import java.util.function.Predicate;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import java.util.stream.Stream;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Runs every shipped non-Java worker against PROTOCOL.md's conformance checklist: the reference Python worker (a
 * shipped by pool-examples too) and the Node.js worker that pool-examples ships. One test per checklist item, observed
 * through the public API where the pool shows it, and by driving the worker process directly with raw frames where
 * the pool hides it (which line came first, exit status, stdin end of file, exact line lengths, heartbeat timing).
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class ConformanceIT {
    private final ProcessLeakCheck leaks = ProcessLeakCheck.start();
    private static final ObjectMapper JSON = new ObjectMapper()
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);
    private static final Duration STARTUP = Duration.ofSeconds(20);
    private static final Duration ANSWER = Duration.ofSeconds(5);
    private static final List<String> TASK_TYPES = List.of("add", "echo", "fail", "garbage", "pid", "sleep", "upper");
    /** U+0149 is 2 bytes in UTF-8; its upper case "ʼN" is 4: a payload that fits the limit, a result that does not. */
    private static final String GROWS_WHEN_UPPER = "\u0149".repeat(900);

    /** A worker shipped with procpool, and what the tests expect of it beyond the protocol. */
    record ShippedWorker(String name, List<String> argv, String capability, String errorClass,
                         boolean reportsProgress) {
        WorkerSpec.Command spec() {
            return WorkerSpec.command(argv);
        }

        @Override
        public String toString() {
            return name;
        }
    }

    static Stream<ShippedWorker> workers() {
        Path python = TestPools.referenceWorker("python_worker.py");
        // Failsafe runs with the module directory (pool-core/) as the working directory.
        Path node = TestPools.referenceWorker("node_worker.js");
        assertTrue(Files.isRegularFile(node), "the shipped Node worker is missing: " + node
                + " (user.dir " + System.getProperty("user.dir") + ")");
        return Stream.of(
                new ShippedWorker("python", List.of(interpreter("python3"), python.toString()), "python",
                        "ValueError", false),
                new ShippedWorker("node", List.of(interpreter("node"), node.toString()), "node", "Error", true));
    }

    /** The program on PATH, with a clear failure when it is missing. */
    private static String interpreter(String program) {
        for (String dir : System.getenv().getOrDefault("PATH", "").split(":")) {
            if (!dir.isEmpty() && Files.isExecutable(Path.of(dir, program))) {
                return program;
            }
        }
        throw new AssertionError(program + " is not on PATH; the conformance tests run every shipped worker "
                + "(.ci/run installs python3 and nodejs where they are missing)");
    }

    /** Every worker process a test started, by pid and start time. */
    private static final ProcessRecords PROCESSES = new ProcessRecords();

    @AfterEach
    void noProcessLeft() {
        leaks.assertNoneLeft(Duration.ofSeconds(10));
        PROCESSES.assertNoneAlive(Duration.ofSeconds(10)); // orphans too, which are no child of this JVM
    }

    // ------------------------------------------------------------------------------------------ checklist

    /** 1. Only frames on stdout: each line strict UTF-8, one JSON object, {@code "v":1} and a string type; flushed. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("workers")
    void item1WritesOnlyFramesOfOneLineUtf8JsonWithVersionAndType(ShippedWorker worker) throws Exception {
        try (RawWorker raw = RawWorker.start(worker, Map.of("PROCPOOL_HEARTBEAT_MS", "50"))) {
            raw.awaitFrame("ready", f -> isType(f, "ready"), STARTUP);
            ObjectNode payload = JSON.createObjectNode()
                    .put("text", "été ✓ 😀 \u2028 \"quoted\" back\\slash line\nbreak\ttab \u0001")
                    .put("n", 12.5);
            payload.putArray("list").add(1).addNull().add(true).addObject().put("deep", "ß");
            Map<String, ObjectNode> tasks = new LinkedHashMap<>();
            tasks.put("t-echo", task("t-echo", "echo", payload));
            tasks.put("t-add", task("t-add", "add", Map.of("a", 2, "b", 40)));
            tasks.put("t-upper", task("t-upper", "upper", Map.of("text", "straße")));
            tasks.put("t-fail", task("t-fail", "fail", Map.of("message", "bad\nnews ✗")));
            tasks.put("t-unknown", task("t-unknown", "no-such-type", null));
            tasks.put("t-pid", task("t-pid", "pid", null));
            tasks.put("t-sleep", task("t-sleep", "sleep", Map.of("ms", 300)));
            Map<String, JsonNode> answers = new HashMap<>();
            for (ObjectNode task : tasks.values()) {
                raw.send(task);
                // The answer arrives while stdin is still open: the worker flushed it.
                String id = task.get("id").asText();
                answers.put(id, raw.awaitAnswer(id, ANSWER));
            }
            assertEquals(payload, answers.get("t-echo").get("result"), "echo returns the payload unchanged");
            assertEquals(42, answers.get("t-add").get("result").get("sum").asInt());
            assertEquals("STRASSE", answers.get("t-upper").get("result").get("text").asText());
            assertEquals("bad\nnews ✗", answers.get("t-fail").get("message").asText());

            assertEquals(0, raw.shutdownAndAwaitExit());
            List<Received> lines = raw.lines();
            assertTrue(lines.size() >= 1 + tasks.size(), "ready and one answer per task at least");
            for (Received line : lines) {
                assertTrue(line.terminated(), "every line ends with \\n: " + line);
                assertNull(line.problem(), "every stdout line is a frame: " + line);
                assertTrue(line.frame().get("v").isIntegralNumber() && line.frame().get("v").asInt() == 1,
                        "\"v\":1 in " + line);
                assertTrue(line.frame().get("type").isTextual(), "a string \"type\" in " + line);
            }
        }
    }

    /** 2. {@code ready} is the first frame, with the worker's own pid and protocol 1. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("workers")
    void item2SendsReadyFirstWithItsPidAndProtocol1(ShippedWorker worker) throws Exception {
        try (RawWorker raw = RawWorker.start(worker, Map.of())) {
            raw.awaitFrame("any line", f -> true, STARTUP);
            Received first = raw.lines().get(0);
            assertNull(first.problem(), first::toString);
            JsonNode ready = first.frame();
            assertEquals("ready", ready.get("type").asText(), "the first line is ready: " + first);
            assertTrue(ready.get("pid").isIntegralNumber(), first::toString);
            assertEquals(raw.process.pid(), ready.get("pid").asLong(), "ready names the worker's own pid");
            assertTrue(ready.get("protocol").isIntegralNumber(), first::toString);
            assertEquals(1, ready.get("protocol").asInt());
            assertEquals(Set.copyOf(TASK_TYPES), strings(ready.get("taskTypes")));
            assertTrue(strings(ready.get("capabilities")).contains(worker.capability()), first::toString);
            assertTrue(ready.path("maxConcurrency").isMissingNode() || ready.get("maxConcurrency").asInt() >= 1);
            assertEquals(1, raw.lines().stream().filter(l -> isType(l.frame(), "ready")).count(), "ready once");
            assertEquals(0, raw.shutdownAndAwaitExit());
            assertEquals(1, raw.lines().stream().filter(l -> isType(l.frame(), "ready")).count(), "ready once");
        }

        try (WorkerPool pool = pool(worker, 1, b -> { })) {
            WorkerSnapshot snapshot = pool.workers().get(0);
            TaskResult result = pool.submitTask(TaskRequest.of("pid", null)
                    .withRequiredCapabilities(worker.capability())).join();
            assertEquals(snapshot.pid(), ((Number) result.as(Map.class).get("pid")).longValue());
            assertEquals(snapshot.pid(), result.workerPid());
            assertEquals(TaskRejectedException.Kind.NO_CAPABLE_WORKER, assertThrows(TaskRejectedException.class,
                    () -> pool.submitTask(TaskRequest.of("pid", null).withRequiredCapabilities("cobol"))).kind());
        }
    }

    /** 3. Exactly one {@code result} or {@code error} per task, with the task's id; cancelled tasks included. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("workers")
    void item3AnswersEveryTaskExactlyOnceWithItsId(ShippedWorker worker) throws Exception {
        List<String> sent = new ArrayList<>();
        try (RawWorker raw = RawWorker.start(worker, Map.of("PROCPOOL_HEARTBEAT_MS", "100"))) {
            raw.awaitFrame("ready", f -> isType(f, "ready"), STARTUP);
            List<String> ids = new ArrayList<>(IntStream.range(0, 21).mapToObj(i -> "t-" + i).toList());
            ids.add("odd\"id\\with{json}[chars],:'~");
            ids.add("x".repeat(TaskRequest.MAX_ID_LENGTH));
            String[] types = {"echo", "add", "upper", "pid", "fail", "no-such-type", "sleep"};
            for (int i = 0; i < ids.size(); i++) {
                String type = types[i % types.length];
                Object payload = switch (type) {
                    case "add" -> Map.of("a", i, "b", 1);
                    case "upper" -> Map.of("text", "t" + i);
                    case "sleep" -> Map.of("ms", 20);
                    default -> Map.of("i", i);
                };
                raw.send(task(ids.get(i), type, payload));
                sent.add(ids.get(i));
                raw.awaitAnswer(ids.get(i), ANSWER);
            }

            // A cancelled task is answered too, within the cancel grace period (2 s by default).
            raw.send(task("t-cancel", "sleep", Map.of("ms", 30_000)));
            sent.add("t-cancel");
            raw.send(frame("cancel").put("id", "t-cancel"));
            raw.awaitAnswer("t-cancel", Duration.ofSeconds(2));
            // Cancels for tasks already answered are ignored: no second answer.
            raw.send(frame("cancel").put("id", "t-cancel"));
            raw.send(frame("cancel").put("id", "t-0"));
            raw.send(task("t-last", "echo", "last"));
            sent.add("t-last");
            assertEquals("last", raw.awaitAnswer("t-last", ANSWER).get("result").asText());

            assertEquals(0, raw.shutdownAndAwaitExit());
            Map<String, Long> answers = raw.frames().filter(ConformanceIT::isAnswer)
                    .collect(Collectors.groupingBy(f -> f.get("id").asText(), Collectors.counting()));
            assertEquals(sent.stream().collect(Collectors.toMap(id -> id, id -> 1L)), answers);
        }

        try (WorkerPool pool = pool(worker, 2, b -> { })) {
            List<TaskHandle> handles = IntStream.range(0, 100)
                    .mapToObj(i -> pool.submitTask("add", Map.of("a", i, "b", 1))).toList();
            for (int i = 0; i < handles.size(); i++) {
                TaskResult result = handles.get(i).await(Duration.ofSeconds(30));
                assertEquals(handles.get(i).id(), result.taskId());
                assertEquals(i + 1, ((Number) result.as(Map.class).get("sum")).intValue());
            }
            assertEquals(100, pool.snapshot().tasks().completed());
        }
    }

    /** 4. A failed task is an {@code error} frame (class, message, stack), and the same worker serves the next. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("workers")
    void item4ReportsAFailedTaskAsAnErrorAndKeepsServing(ShippedWorker worker) {
        try (WorkerPool pool = pool(worker, 1, b -> { })) {
            long pid = pool.workers().get(0).pid();

            TaskFailedException failure = assertThrows(TaskFailedException.class,
                    () -> pool.submitTask("fail", Map.of("message", "no good")).join());
            assertEquals(FailureReason.HANDLER_ERROR, failure.reason());
            assertEquals(1, failure.attempts(), "handler errors are not retried by default");
            assertEquals(worker.errorClass(), failure.remoteError().orElseThrow().className());
            assertEquals("no good", failure.remoteError().orElseThrow().message());
            assertFalse(failure.remoteError().orElseThrow().stack().isBlank(), "a stack trace as text");

            TaskFailedException badPayload = assertThrows(TaskFailedException.class,
                    () -> pool.submitTask("add", Map.of("a", "one", "b", 1)).join());
            assertEquals(FailureReason.HANDLER_ERROR, badPayload.reason());
            assertEquals("TypeError", badPayload.remoteError().orElseThrow().className());

            assertEquals(5, ((Number) pool.submitTask("add", Map.of("a", 2, "b", 3)).join().as(Map.class)
                    .get("sum")).intValue());
            assertEquals(List.of(pid), pool.workers().stream().map(WorkerSnapshot::pid).toList(), "worker kept");
            assertEquals(1, pool.snapshot().performance().workersSpawned());
            assertEquals(0, pool.snapshot().performance().restarts());
            assertEquals(2, pool.snapshot().tasks().failed());
        }
    }

    /** 5. A task type the worker does not serve gets an {@code error} of kind UNKNOWN_TASK_TYPE, not retryable. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("workers")
    void item5AnswersUnknownTaskTypesWithUnknownTaskType(ShippedWorker worker) throws Exception {
        // The pool never sends a type the workers did not announce, so only a raw frame reaches the worker's answer.
        try (RawWorker raw = RawWorker.start(worker, Map.of())) {
            raw.awaitFrame("ready", f -> isType(f, "ready"), STARTUP);
            raw.send(task("t-unknown", "no-such-type", Map.of("a", 1)));
            JsonNode error = raw.awaitAnswer("t-unknown", ANSWER);
            assertEquals("error", error.get("type").asText(), error::toString);
            assertEquals("UNKNOWN_TASK_TYPE", error.get("kind").asText(), error::toString);
            assertFalse(error.path("retryable").asBoolean(true), "UNKNOWN_TASK_TYPE is not retryable: " + error);
            raw.send(task("t-next", "echo", 7));
            assertEquals(7, raw.awaitAnswer("t-next", ANSWER).get("result").asInt(), "still serving");
            assertEquals(0, raw.shutdownAndAwaitExit());
        }

        try (WorkerPool pool = pool(worker, 1, b -> { })) {
            TaskRejectedException rejected = assertThrows(TaskRejectedException.class,
                    () -> pool.submitTask("no-such-type", Map.of()));
            assertEquals(TaskRejectedException.Kind.NO_CAPABLE_WORKER, rejected.kind());
        }
    }

    /** 6. A {@code heartbeat} about every PROCPOOL_HEARTBEAT_MS, also while a task runs, with the RSS. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("workers")
    void item6HeartbeatsEveryIntervalAlsoWhileATaskRuns(ShippedWorker worker) throws Exception {
        try (RawWorker raw = RawWorker.start(worker, Map.of("PROCPOOL_HEARTBEAT_MS", "100"))) {
            raw.awaitFrame("ready", f -> isType(f, "ready"), STARTUP);
            long sentAt = System.nanoTime();
            raw.send(task("t-long", "sleep", Map.of("ms", 2000)));
            raw.awaitAnswer("t-long", ANSWER);
            Received answer = raw.lines().stream().filter(l -> isAnswer(l.frame())).findFirst().orElseThrow();
            List<Received> beats = raw.lines().stream()
                    .filter(l -> isType(l.frame(), "heartbeat") && l.atNanos() > sentAt && l.atNanos() < answer.atNanos())
                    .toList();
            // 2000 ms at 100 ms is 20 beats; allow for a loaded machine, but not for silence or a flood.
            assertTrue(beats.size() >= 10 && beats.size() <= 40, beats.size() + " heartbeats during a 2 s task");
            long previous = sentAt;
            long maxGap = 0;
            for (Received beat : beats) {
                maxGap = Math.max(maxGap, beat.atNanos() - previous);
                previous = beat.atNanos();
                JsonNode rss = beat.frame().path("rssBytes");
                assertTrue(rss.isIntegralNumber() && rss.asLong() > 0, "rssBytes in " + beat);
            }
            maxGap = Math.max(maxGap, answer.atNanos() - previous);
            assertTrue(maxGap <= TimeUnit.MILLISECONDS.toNanos(700),
                    "longest silence " + TimeUnit.NANOSECONDS.toMillis(maxGap) + " ms at a 100 ms interval");
            assertEquals(0, raw.shutdownAndAwaitExit());
        }

        // Through the pool: a task three times longer than the heartbeat timeout, and no zombie.
        try (WorkerPool pool = pool(worker, 1, b -> b.heartbeatInterval(Duration.ofMillis(100))
                .heartbeatTimeout(Duration.ofSeconds(1)))) {
            long pid = pool.workers().get(0).pid();
            TaskHandle handle = pool.submitTask("sleep", Map.of("ms", 3000));
            await("the worker to run the task and report its memory").atMost(ANSWER)
                    .pollInterval(Duration.ofMillis(20)).until(() -> {
                        WorkerSnapshot w = pool.workers().get(0);
                        return w.state() == WorkerState.BUSY && w.rssBytes() > 0 && w.millisSinceFrame() < 1000;
                    });
            assertEquals(3000, ((Number) handle.await(Duration.ofSeconds(15)).as(Map.class).get("slept")).intValue());
            assertEquals(0, pool.snapshot().performance().zombiesDetected());
            assertEquals(List.of(pid), pool.workers().stream().map(WorkerSnapshot::pid).toList());
        }
    }

    /** 7. Unknown frame types and unknown members are ignored; member order does not matter. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("workers")
    void item7IgnoresUnknownFrameTypesAndMembers(ShippedWorker worker) throws Exception {
        try (RawWorker raw = RawWorker.start(worker, Map.of())) {
            raw.awaitFrame("ready", f -> isType(f, "ready"), STARTUP);
            raw.send(frame("x-future-frame").put("id", "t-future").put("taskType", "echo").put("flag", true));
            raw.send(frame("cancel").put("id", "never-sent").put("reason", "from a later version"));
            ObjectNode extra = task("t-extra", "add", Map.of("a", 2, "b", 3, "c", "unused"));
            extra.put("priority", 7).put("timeoutMs", 30_000).putObject("trace").putArray("spans").add(1).add(2);
            raw.send(extra);
            assertEquals(5, raw.awaitAnswer("t-extra", ANSWER).get("result").get("sum").asInt());
            raw.sendLine("{\"payload\":{\"k\":[1,2]},\"attempt\":2,\"id\":\"t-order\",\"taskType\":\"echo\","
                    + "\"type\":\"task\",\"v\":1,\"zzz\":null}");
            assertEquals(JSON.readTree("{\"k\":[1,2]}"), raw.awaitAnswer("t-order", ANSWER).get("result"));
            assertTrue(raw.process.isAlive());
            assertEquals(0, raw.shutdownAndAwaitExit());
            assertEquals(Set.of("t-extra", "t-order"),
                    raw.frames().filter(ConformanceIT::isAnswer).map(f -> f.get("id").asText())
                            .collect(Collectors.toSet()), "nothing answered for the unknown frames");
        }
    }

    /** 8a. {@code shutdown}: exit status 0, promptly (before the host would escalate to SIGTERM). */
    @ParameterizedTest(name = "{0}")
    @MethodSource("workers")
    void item8ExitsWithStatus0OnShutdown(ShippedWorker worker) throws Exception {
        try (RawWorker raw = RawWorker.start(worker, Map.of())) {
            raw.awaitFrame("ready", f -> isType(f, "ready"), STARTUP);
            raw.send(task("t-1", "pid", null));
            raw.awaitAnswer("t-1", ANSWER);
            assertEquals(0, raw.shutdownAndAwaitExit());
        }

        List<PoolEvent.WorkerExited> exits = new CopyOnWriteArrayList<>();
        List<Long> pids;
        try (WorkerPool pool = pool(worker, 2, b -> b.listener(event -> {
            if (event instanceof PoolEvent.WorkerExited exited) {
                exits.add(exited);
            }
        }))) {
            pids = pool.workers().stream().map(WorkerSnapshot::pid).toList();
            pool.submitTask("add", Map.of("a", 1, "b", 1)).join();
        }
        TestPools.assertAllDead(pids, Duration.ofSeconds(5));
        await("an exit event per worker").atMost(ANSWER).pollInterval(Duration.ofMillis(20))
                .until(() -> exits.size() == 2);
        for (PoolEvent.WorkerExited exited : exits) {
            assertEquals("exit code 0", exited.exitStatus(), exited::toString);
            assertNull(exited.cause(), exited::toString);
        }
    }

    /** 8b. End of file on stdin: the worker exits at once (here within 2 s), idle or in the middle of a task. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("workers")
    void item8ExitsAtOnceWhenStdinEnds(ShippedWorker worker) throws Exception {
        try (RawWorker idle = RawWorker.start(worker, Map.of());
             RawWorker busy = RawWorker.start(worker, Map.of("PROCPOOL_HEARTBEAT_MS", "100"))) {
            idle.awaitFrame("ready", f -> isType(f, "ready"), STARTUP);
            busy.awaitFrame("ready", f -> isType(f, "ready"), STARTUP);
            busy.send(task("t-1", "pid", null));
            busy.awaitAnswer("t-1", ANSWER);
            busy.send(task("t-long", "sleep", Map.of("ms", 60_000)));
            long sentAt = System.nanoTime();
            busy.awaitFrame("a heartbeat while the task runs",
                    f -> isType(f, "heartbeat"), Duration.ofSeconds(2), sentAt);

            idle.closeStdin();
            busy.closeStdin();
            await("the idle worker to exit after stdin end of file").atMost(Duration.ofSeconds(2))
                    .pollInterval(Duration.ofMillis(10)).until(() -> !idle.process.isAlive());
            await("the busy worker to exit after stdin end of file").atMost(Duration.ofSeconds(2))
                    .pollInterval(Duration.ofMillis(10)).until(() -> !busy.process.isAlive());
        }
    }

    /** 9. No line longer than PROCPOOL_MAX_FRAME_BYTES, whatever the task produces: an error frame instead. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("workers")
    void item9NeverWritesAFrameOverTheLimit(ShippedWorker worker) throws Exception {
        int limit = 2048;
        try (RawWorker raw = RawWorker.start(worker, Map.of("PROCPOOL_MAX_FRAME_BYTES", Integer.toString(limit),
                "PROCPOOL_HEARTBEAT_MS", "100"))) {
            raw.awaitFrame("ready", f -> isType(f, "ready"), STARTUP);
            // Over the limit both ways (the pool would never send this one) ...
            raw.send(task("t-echo", "echo", "x".repeat(5000)));
            assertEquals("error", raw.awaitAnswer("t-echo", ANSWER).get("type").asText());
            // ... a payload within the limit and a result over it ...
            raw.send(task("t-upper", "upper", Map.of("text", GROWS_WHEN_UPPER)));
            assertEquals("error", raw.awaitAnswer("t-upper", ANSWER).get("type").asText());
            // ... a task frame just within the limit whose error frame (message, class, stack) is over it ...
            int room = limit - 5 - JSON.writeValueAsBytes(task("t-fail", "fail", Map.of("message", ""))).length;
            raw.send(task("t-fail", "fail", Map.of("message", "m".repeat(room))));
            JsonNode error = raw.awaitAnswer("t-fail", ANSWER);
            assertEquals("error", error.get("type").asText());
            assertTrue(error.path("message").asText("m").startsWith("m"), error::toString);
            // ... and the worker goes on.
            raw.send(task("t-small", "echo", "y".repeat(1000)));
            assertEquals("y".repeat(1000), raw.awaitAnswer("t-small", ANSWER).get("result").asText());
            assertEquals(0, raw.shutdownAndAwaitExit());
            for (Received line : raw.lines()) {
                assertTrue(line.bytes().length <= limit, "a line of " + line.bytes().length + " bytes: " + line);
                assertNull(line.problem(), line::toString);
            }
        }

        try (WorkerPool pool = pool(worker, 1, b -> b.maxFrameBytes(limit))) {
            long pid = pool.workers().get(0).pid();
            TaskFailedException tooBig = assertThrows(TaskFailedException.class,
                    () -> pool.submitTask("upper", Map.of("text", GROWS_WHEN_UPPER)).join());
            assertEquals(FailureReason.HANDLER_ERROR, tooBig.reason(), "an error frame, not a PROTOCOL_ERROR");
            TaskFailedException longMessage = assertThrows(TaskFailedException.class,
                    () -> pool.submitTask("fail", Map.of("message", "m".repeat(1800))).join());
            assertEquals(FailureReason.HANDLER_ERROR, longMessage.reason());
            assertTrue(longMessage.remoteError().orElseThrow().message().startsWith("mmmm"));
            assertEquals(TaskRejectedException.Kind.PAYLOAD_TOO_LARGE, assertThrows(TaskRejectedException.class,
                    () -> pool.submitTask("echo", "x".repeat(5000))).kind(), "the host never sends such a frame");
            assertEquals("ok", pool.submitTask("echo", "ok").join().as(String.class));
            assertEquals(List.of(pid), pool.workers().stream().map(WorkerSnapshot::pid).toList(), "worker kept");
            assertFalse(pool.snapshot().tasks().attemptFailures().containsKey(FailureReason.PROTOCOL_ERROR));
        }
    }

    /** 10. Logs go to stderr, never to stdout. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("workers")
    void item10WritesItsLogsToStderr(ShippedWorker worker) throws Exception {
        try (RawWorker raw = RawWorker.start(worker, Map.of())) {
            raw.awaitFrame("ready", f -> isType(f, "ready"), STARTUP);
            // Things both workers log: an unknown frame, a cancel for nothing in flight, the shutdown.
            raw.send(frame("x-future-frame"));
            raw.send(frame("cancel").put("id", "nothing"));
            raw.send(task("t-fail", "fail", Map.of("message", "logged?")));
            raw.awaitAnswer("t-fail", ANSWER);
            assertEquals(0, raw.shutdownAndAwaitExit());
            await("stderr to be read to its end").atMost(ANSWER).until(() -> raw.stderrDone);
            assertFalse(raw.stderr.isEmpty(), "the worker logs to stderr");
            for (Received line : raw.lines()) {
                assertNull(line.problem(), "stdout holds frames only, logs go to stderr: " + line);
            }
        }
    }

    // ------------------------------------------------------------------------------------------ beyond the list

    /** Frames whose {@code "v"} is not the number 1 are not frames for a version-1 worker: no answer, no harm. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("workers")
    void ignoresFramesWhoseVersionIsNot1(ShippedWorker worker) throws Exception {
        try (RawWorker raw = RawWorker.start(worker, Map.of())) {
            raw.awaitFrame("ready", f -> isType(f, "ready"), STARTUP);
            ObjectNode missing = task("t-missing", "echo", 1);
            missing.remove("v");
            raw.send(missing);
            raw.send(task("t-two", "echo", 2).put("v", 2));
            raw.send(task("t-text", "echo", 3).put("v", "1"));
            raw.send(task("t-true", "echo", 4).put("v", true));
            raw.send(task("t-one", "echo", 5));
            assertEquals(5, raw.awaitAnswer("t-one", ANSWER).get("result").asInt());
            raw.send(frame("cancel").put("v", 2).put("id", "t-one"));
            assertEquals(0, raw.shutdownAndAwaitExit());
            assertEquals(List.of("t-one"), raw.frames().filter(ConformanceIT::isAnswer)
                    .map(f -> f.get("id").asText()).toList(), "only the version-1 task is answered");
        }
    }

    /**
     * Lines as the host writes them: several frames in one write, {@code \r\n} endings, and a frame nested to the
     * protocol's limit of 1000 levels (the frame's own object counting as the first).
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("workers")
    void readsEveryLineTheHostMayWrite(ShippedWorker worker) throws Exception {
        try (RawWorker raw = RawWorker.start(worker, Map.of())) {
            raw.awaitFrame("ready", f -> isType(f, "ready"), STARTUP);
            raw.sendLine(JSON.writeValueAsString(task("t-a", "echo", "a")) + "\n"
                    + JSON.writeValueAsString(task("t-b", "echo", "b")) + "\r\n"
                    + JSON.writeValueAsString(task("t-c", "echo", "c")));
            for (String id : List.of("t-a", "t-b", "t-c")) {
                assertEquals(id.substring(2), raw.awaitAnswer(id, ANSWER).get("result").asText());
            }
            String deepest = "[".repeat(999) + "]".repeat(999);
            raw.sendLine("{\"v\":1,\"type\":\"task\",\"id\":\"t-deep\",\"taskType\":\"echo\",\"attempt\":1,"
                    + "\"payload\":" + deepest + "}");
            JsonNode deep = raw.awaitAnswer("t-deep", ANSWER);
            assertEquals("result", deep.get("type").asText(), deep::toString);
            raw.send(task("t-after", "echo", "after"));
            assertEquals("after", raw.awaitAnswer("t-after", ANSWER).get("result").asText(), "still reading");
            assertEquals(0, raw.shutdownAndAwaitExit());
        }
    }

    /** Through the pool: a payload nested as deep as a frame allows goes out and comes back unchanged. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("workers")
    void echoesAPayloadNestedToTheLimitThroughThePool(ShippedWorker worker) throws Exception {
        try (WorkerPool pool = pool(worker, 1, b -> { })) {
            Object deepest = List.of();
            for (int i = 1; i < 999; i++) {
                deepest = List.of(deepest);
            }
            TaskResult result = pool.submitTask("echo", deepest).await(ANSWER);
            assertEquals(JSON.valueToTree(deepest), result.as(JsonNode.class));
        }
    }

    /** Lines on stdout that are not frames (the "garbage" task writes some on purpose) are logged, not fatal. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("workers")
    void nonFrameLinesOnStdoutAreNotFatal(ShippedWorker worker) {
        try (WorkerPool pool = pool(worker, 1, b -> { })) {
            long pid = pool.workers().get(0).pid();
            for (int i = 0; i < 3; i++) {
                assertEquals(Boolean.TRUE, pool.submitTask("garbage", Map.of()).join().as(Map.class).get("ok"));
            }
            assertEquals(List.of(pid), pool.workers().stream().map(WorkerSnapshot::pid).toList());
            assertEquals(0, pool.snapshot().performance().restarts());
        }
    }

    /** Lifecycle step 4: a cancelled or timed-out task stops within the cancel grace period; the worker is kept. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("workers")
    void cancelAndTimeoutStopTheTaskAndKeepTheWorker(ShippedWorker worker) {
        try (WorkerPool pool = pool(worker, 1, b -> b.cancelGracePeriod(Duration.ofSeconds(2)))) {
            long pid = pool.workers().get(0).pid();
            TaskHandle handle = pool.submitTask("sleep", Map.of("ms", 60_000));
            await("the task to run").atMost(ANSWER).pollInterval(Duration.ofMillis(10))
                    .until(() -> handle.state() == TaskState.RUNNING);
            assertTrue(handle.cancel());
            assertEquals(FailureReason.CANCELLED, assertThrows(TaskFailedException.class, handle::join).reason());

            TaskFailedException timeout = assertThrows(TaskFailedException.class, () -> pool.submitTask(
                    TaskRequest.of("sleep", Map.of("ms", 60_000)).withTimeout(Duration.ofMillis(300))).join());
            assertEquals(FailureReason.TIMEOUT, timeout.reason());

            await("the worker to be idle again").atMost(ANSWER).pollInterval(Duration.ofMillis(10))
                    .until(() -> pool.workers().size() == 1 && pool.workers().get(0).state() == WorkerState.IDLE);
            assertEquals(List.of(pid), pool.workers().stream().map(WorkerSnapshot::pid).toList(), "worker kept");
            assertEquals(0, pool.snapshot().performance().restarts());
            assertEquals(3, ((Number) pool.submitTask("add", Map.of("a", 1, "b", 2)).join().as(Map.class)
                    .get("sum")).intValue());
        }
    }

    /** Optional frames: {@code progress} reaches the submitter's callback, {@code log} with an id the task's output. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("workers")
    void progressAndLogFramesReachTheSubmitter(ShippedWorker worker) {
        assumeTrue(worker.reportsProgress(), worker + " does not report progress");
        try (WorkerPool pool = pool(worker, 1, b -> { })) {
            List<TaskProgress> progress = new CopyOnWriteArrayList<>();
            TaskHandle handle = pool.submitTask("sleep", Map.of("ms", 400, "progress", true)).onProgress(progress::add);
            handle.await(ANSWER);
            assertEquals(List.of(0.25, 0.5, 0.75), progress.stream().map(TaskProgress::fraction).toList());
            assertTrue(progress.stream().allMatch(p -> p.taskId().equals(handle.id()) && !p.message().isEmpty()));
            List<String> output = pool.taskOutput(handle.id(), 20).orElseThrow();
            assertTrue(output.stream().anyMatch(line -> line.contains("sleeping 400 ms")), output::toString);
        }
    }

    // ------------------------------------------------------------------------------------------ helpers

    private static WorkerPool pool(ShippedWorker worker, int workers, Consumer<PoolConfig.Builder> settings) {
        PoolConfig.Builder builder = WorkerPool.builder().name("conformance-" + worker.name()).workers(workers)
                .worker(worker.spec()).listener(event -> {
                    if (event instanceof PoolEvent.WorkerStarted started) {
                        PROCESSES.record(started.pid());
                    }
                }).heartbeatInterval(Duration.ofMillis(200))
                .heartbeatTimeout(Duration.ofSeconds(5)).startupTimeout(STARTUP);
        settings.accept(builder);
        return builder.start();
    }

    private static ObjectNode frame(String type) {
        return JSON.createObjectNode().put("v", 1).put("type", type);
    }

    private static ObjectNode task(String id, String taskType, Object payload) {
        ObjectNode task = frame("task").put("id", id).put("taskType", taskType).put("attempt", 1);
        task.set("payload", JSON.valueToTree(payload));
        return task;
    }

    private static boolean isType(JsonNode frame, String type) {
        return frame != null && type.equals(frame.path("type").asText(null));
    }

    private static boolean isAnswer(JsonNode frame) {
        return isType(frame, "result") || isType(frame, "error");
    }

    private static Set<String> strings(JsonNode array) {
        assertTrue(array != null && array.isArray(), "an array of strings: " + array);
        Set<String> values = new java.util.HashSet<>();
        array.forEach(node -> {
            assertTrue(node.isTextual(), "an array of strings: " + array);
            values.add(node.asText());
        });
        return values;
    }

    /**
     * One line the worker wrote to stdout.
     *
     * @param atNanos    when the host read it ({@link System#nanoTime()})
     * @param bytes      the line without its {@code \n}
     * @param terminated whether it ended with {@code \n} (only the last line of the stream may not)
     * @param frame      the parsed JSON object, or {@code null}
     * @param problem    why the line is not a frame, or {@code null}
     */
    record Received(long atNanos, byte[] bytes, boolean terminated, JsonNode frame, String problem) {
        static Received of(long atNanos, byte[] bytes, boolean terminated) {
            String text;
            try {
                text = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                        .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(bytes)).toString();
            } catch (CharacterCodingException e) {
                return new Received(atNanos, bytes, terminated, null, "not UTF-8: " + e);
            }
            try {
                JsonNode node = JSON.readTree(text);
                if (node == null || !node.isObject()) {
                    return new Received(atNanos, bytes, terminated, null, "not a JSON object");
                }
                if (!node.path("type").isTextual()) {
                    return new Received(atNanos, bytes, terminated, node, "no string \"type\"");
                }
                return new Received(atNanos, bytes, terminated, node, null);
            } catch (JsonProcessingException e) {
                return new Received(atNanos, bytes, terminated, null, "not JSON: " + e.getOriginalMessage());
            }
        }

        @Override
        public String toString() {
            String text = new String(bytes, 0, Math.min(bytes.length, 300), StandardCharsets.UTF_8);
            return (problem == null ? "" : "(" + problem + ") ") + text + (bytes.length > 300 ? "…" : "");
        }
    }

    /** A worker process driven with raw frames, its stdout split into lines as the host would. */
    static final class RawWorker implements AutoCloseable {
        final Process process;
        final List<Received> stdout = new CopyOnWriteArrayList<>();
        final List<String> stderr = Collections.synchronizedList(new ArrayList<>());
        volatile boolean stdoutDone;
        volatile boolean stderrDone;
        private final OutputStream stdin;

        private RawWorker(Process process) {
            this.process = process;
            this.stdin = process.getOutputStream();
            Thread out = new Thread(this::readStdout, "conformance-stdout-" + process.pid());
            Thread err = new Thread(this::readStderr, "conformance-stderr-" + process.pid());
            out.setDaemon(true);
            err.setDaemon(true);
            out.start();
            err.start();
        }

        /** Starts the worker with the minimal environment the pool gives, plus {@code env}. */
        static RawWorker start(ShippedWorker worker, Map<String, String> env) throws IOException {
            ProcessBuilder builder = new ProcessBuilder(worker.argv());
            Map<String, String> environment = builder.environment();
            environment.clear();
            for (String name : List.of("PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR")) {
                String value = System.getenv(name);
                if (value != null) {
                    environment.put(name, value);
                }
            }
            environment.put("PROCPOOL_PROTOCOL", "1");
            environment.put("PROCPOOL_WORKER_ID", "raw-" + worker.name());
            environment.put("PROCPOOL_HEARTBEAT_MS", "1000");
            environment.put("PROCPOOL_MAX_FRAME_BYTES", Integer.toString(16 << 20));
            environment.putAll(env);
            Process process = builder.start();
            PROCESSES.record(process.pid());
            return new RawWorker(process);
        }

        private void readStdout() {
            try (InputStream in = process.getInputStream()) {
                ByteArrayOutputStream line = new ByteArrayOutputStream();
                byte[] buffer = new byte[8192];
                int n;
                while ((n = in.read(buffer)) > 0) {
                    long now = System.nanoTime();
                    for (int i = 0; i < n; i++) {
                        if (buffer[i] == '\n') {
                            stdout.add(Received.of(now, line.toByteArray(), true));
                            line.reset();
                        } else {
                            line.write(buffer[i]);
                        }
                    }
                }
                if (line.size() > 0) {
                    stdout.add(Received.of(System.nanoTime(), line.toByteArray(), false));
                }
            } catch (IOException e) {
                // the stream was closed by close()
            } finally {
                stdoutDone = true;
            }
        }

        private void readStderr() {
            try (InputStream in = process.getErrorStream()) {
                for (String line : new String(in.readAllBytes(), StandardCharsets.UTF_8).split("\n")) {
                    if (!line.isEmpty()) {
                        stderr.add(line);
                    }
                }
            } catch (IOException e) {
                // the stream was closed by close()
            } finally {
                stderrDone = true;
            }
        }

        List<Received> lines() {
            return List.copyOf(stdout);
        }

        Stream<JsonNode> frames() {
            return lines().stream().map(Received::frame).filter(f -> f != null);
        }

        void send(JsonNode frame) throws IOException {
            sendLine(JSON.writeValueAsString(frame));
        }

        void sendLine(String line) throws IOException {
            stdin.write((line + "\n").getBytes(StandardCharsets.UTF_8));
            stdin.flush();
        }

        void closeStdin() throws IOException {
            stdin.close();
        }

        JsonNode awaitFrame(String what, Predicate<JsonNode> matches, Duration within) {
            return awaitFrame(what, matches, within, Long.MIN_VALUE);
        }

        /** Waits for a frame read after {@code afterNanos} that matches. */
        JsonNode awaitFrame(String what, Predicate<JsonNode> matches, Duration within, long afterNanos) {
            AtomicReference<JsonNode> found = new AtomicReference<>();
            await(what + " from the worker").atMost(within).pollInterval(Duration.ofMillis(5)).until(() -> {
                boolean ended = stdoutDone; // read first: then every line is in stdout when it is true
                for (Received line : stdout) {
                    if (line.atNanos() > afterNanos && line.frame() != null && matches.test(line.frame())) {
                        found.set(line.frame());
                        return true;
                    }
                }
                assertFalse(ended, () -> "the worker ended its stdout (exit "
                        + (process.isAlive() ? "pending" : process.exitValue()) + ") before " + what + "; stdout "
                        + stdout + ", stderr " + stderr);
                return false;
            });
            return found.get();
        }

        JsonNode awaitAnswer(String id, Duration within) {
            return awaitFrame("the answer to task " + id, f -> isAnswer(f) && id.equals(f.path("id").asText(null)),
                    within);
        }

        /** Sends shutdown, waits (at most 3 s, the host's grace period) for the exit and the end of stdout. */
        int shutdownAndAwaitExit() throws IOException {
            send(frame("shutdown"));
            await("the worker to exit after shutdown").atMost(Duration.ofSeconds(3))
                    .pollInterval(Duration.ofMillis(10)).until(() -> !process.isAlive());
            await("stdout to be read to its end").atMost(ANSWER).until(() -> stdoutDone);
            return process.exitValue();
        }

        @Override
        public void close() throws IOException {
            if (process.isAlive()) {
                process.destroyForcibly();
            }
            await("the worker process to end").atMost(Duration.ofSeconds(5)).pollInterval(Duration.ofMillis(10))
                    .until(() -> !process.isAlive());
            try {
                stdin.close();
            } catch (IOException e) {
                // already closed, or the pipe is broken: the process is gone either way
            }
        }
    }
}
