package dev.procpool.core.it;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.procpool.FailureReason;
import dev.procpool.PoolConfig;
import dev.procpool.PoolEvent;
import dev.procpool.RetryPolicy;
import dev.procpool.TaskFailedException;
import dev.procpool.TaskHandle;
import dev.procpool.TaskProgress;
import dev.procpool.TaskRejectedException;
import dev.procpool.TaskRequest;
import dev.procpool.WorkerGroup;
import dev.procpool.WorkerPool;
import dev.procpool.WorkerSnapshot;
import dev.procpool.WorkerSpec;
import dev.procpool.WorkerStartupException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import java.util.stream.IntStream;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * What the host does with each rule of PROTOCOL.md that a well-behaved worker never tests: a worker that says
 * exactly what each test scripts ({@code scripted_worker.py}) breaks one rule at a time, and the test checks the
 * outcome the document promises. The shipped workers' side of the rules is {@link ConformanceIT}.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class ProtocolRulesIT {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Duration ANSWER = Duration.ofSeconds(10);
    private static final String RESULT = "{\"v\":1,\"type\":\"result\",\"id\":\"{id}\",\"result\":\"ok\"}";

    /** The interpreter itself, not a wrapper script (pyenv's adds variables of its own to the environment). */
    private static final String PYTHON = realPython();

    private final ProcessRecords processes = new ProcessRecords();

    private static String realPython() {
        try {
            Process p = new ProcessBuilder("python3", "-c", "import sys; print(sys.executable)").start();
            String path = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8).trim();
            p.waitFor();
            return path.isEmpty() ? "python3" : path;
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException("python3 is needed on PATH", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "python3";
        }
    }

    @AfterEach
    void noWorkerLeft() {
        processes.assertNoneAlive(Duration.ofSeconds(15));
    }

    /** A pool of one scripted worker; {@code group} adjusts its group, {@code pool} the pool. */
    private WorkerPool pool(Map<String, Object> script, Consumer<WorkerGroup.Builder> group,
                            Consumer<PoolConfig.Builder> pool) throws Exception {
        Path worker = Path.of(ProtocolRulesIT.class.getResource("/workers/scripted_worker.py").toURI());
        assertTrue(Files.isRegularFile(worker), worker.toString());
        WorkerGroup.Builder g = WorkerGroup.builder("scripted", WorkerSpec.command(List.of(PYTHON,
                worker.toString()))).workers(1).environment("SCRIPT", JSON.writeValueAsString(script));
        group.accept(g);
        PoolConfig.Builder p = WorkerPool.builder().name("rules").group(g.build())
                .heartbeatInterval(Duration.ofMillis(200)).heartbeatTimeout(Duration.ofSeconds(5))
                .startupTimeout(Duration.ofSeconds(20))
                .listener(event -> {
                    if (event instanceof PoolEvent.WorkerStarted started) {
                        processes.record(started.pid());
                    }
                });
        pool.accept(p);
        WorkerPool started = p.start();
        started.workers().forEach(w -> processes.record(w.pid()));
        return started;
    }

    private WorkerPool pool(Map<String, Object> script) throws Exception {
        return pool(script, g -> { }, p -> { });
    }

    private static Map<String, Object> tasks(Object... typeThenSteps) {
        Map<String, Object> tasks = new java.util.LinkedHashMap<>();
        for (int i = 0; i < typeThenSteps.length; i += 2) {
            tasks.put((String) typeThenSteps[i], typeThenSteps[i + 1]);
        }
        return Map.of("tasks", tasks);
    }

    private static List<Long> pids(WorkerPool pool) {
        return pool.workers().stream().map(WorkerSnapshot::pid).toList();
    }

    // ---------------------------------------------------------------------------------------------- environment

    @Test
    void theHostSetsExactlyTheDocumentedEnvironment() throws Exception {
        try (WorkerPool pool = pool(tasks("env", List.of(Map.of("env", List.of()))),
                g -> g.maxConcurrency(2).capabilities("gpu", "fast"), p -> p.maxFrameBytes(65_536))) {
            Map<?, ?> env = pool.submitTask("env", null).await(ANSWER).as(Map.class);
            assertEquals("1", env.get("PROCPOOL_PROTOCOL"), env::toString);
            assertEquals(pool.workers().get(0).id(), env.get("PROCPOOL_WORKER_ID"));
            assertEquals("200", env.get("PROCPOOL_HEARTBEAT_MS"));
            assertEquals("65536", env.get("PROCPOOL_MAX_FRAME_BYTES"));
            assertEquals("2", env.get("PROCPOOL_MAX_CONCURRENCY"));
            assertEquals(Set.of("gpu", "fast"), Set.of(((String) env.get("PROCPOOL_CAPABILITIES")).split(",")));
            assertNull(env.get("PROCPOOL_WARM_UP"), "only hot spares are told to warm up");
            Set<String> documented = Set.of("PROCPOOL_PROTOCOL", "PROCPOOL_WORKER_ID", "PROCPOOL_HEARTBEAT_MS",
                    "PROCPOOL_MAX_FRAME_BYTES", "PROCPOOL_MAX_CONCURRENCY", "PROCPOOL_CAPABILITIES",
                    "PROCPOOL_WARM_UP", "PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR", "SCRIPT");
            Set<String> extra = new HashSet<>();
            env.keySet().forEach(name -> extra.add((String) name));
            extra.removeAll(documented);
            // the interpreter may add a few of its own (LC_CTYPE is documented); nothing from the host
            assertTrue(extra.stream().noneMatch(name -> System.getenv().containsKey(name)),
                    "variables the host passed without documenting them: " + extra);
        }
    }

    @Test
    void theGroupsMaxConcurrencyCapsTheAnnouncedOne() throws Exception {
        Map<String, Object> script = new java.util.HashMap<>(tasks("hold", List.of(Map.of("sleepMs", 400), RESULT)));
        script.put("ready", Map.of("v", 1, "type", "ready", "protocol", 1, "maxConcurrency", 8));
        try (WorkerPool pool = pool(script, g -> g.maxConcurrency(2), p -> { })) {
            List<TaskHandle> handles = IntStream.range(0, 6).mapToObj(i -> pool.submitTask("hold", i)).toList();
            AtomicInteger most = new AtomicInteger();
            await("the tasks to end").atMost(ANSWER).pollInterval(Duration.ofMillis(10)).until(() -> {
                most.accumulateAndGet(pool.workers().get(0).currentTasks().size(), Math::max);
                return handles.stream().allMatch(h -> h.state().isTerminal());
            });
            assertEquals(2, most.get(), "the worker announced 8, the group allows 2");
        }
        script.put("ready", Map.of("v", 1, "type", "ready", "protocol", 1, "maxConcurrency", 1));
        try (WorkerPool pool = pool(script, g -> g.maxConcurrency(3), p -> { })) {
            List<TaskHandle> handles = IntStream.range(0, 4).mapToObj(i -> pool.submitTask("hold", i)).toList();
            AtomicInteger most = new AtomicInteger();
            await("the tasks to end").atMost(ANSWER).pollInterval(Duration.ofMillis(10)).until(() -> {
                most.accumulateAndGet(pool.workers().get(0).currentTasks().size(), Math::max);
                return handles.stream().allMatch(h -> h.state().isTerminal());
            });
            assertEquals(1, most.get(), "the group allows 3, the worker announced 1");
        }
    }

    // ---------------------------------------------------------------------------------------------- ordering

    @Test
    void aSecondReadyIsIgnored() throws Exception {
        String again = "{\"v\":1,\"type\":\"ready\",\"pid\":1,\"protocol\":2,\"taskTypes\":[\"other\"]}";
        try (WorkerPool pool = pool(tasks("again", List.of(again, RESULT)))) {
            List<Long> pids = pids(pool);
            assertEquals("ok", pool.submitTask("again", null).await(ANSWER).as(String.class));
            assertEquals("ok", pool.submitTask("again", null).await(ANSWER).as(String.class),
                    "still serves the types of its first ready");
            assertEquals(pids, pids(pool), "worker kept");
            assertEquals(0, pool.snapshot().performance().restarts());
        }
    }

    @Test
    void beforeReadyOnlyHeartbeatLogAndNonFrameLinesAreAccepted() throws Exception {
        Map<String, Object> script = new java.util.HashMap<>(tasks("t", List.of(RESULT)));
        script.put("beforeReady", List.of("{\"v\":1,\"type\":\"heartbeat\"}",
                "{\"v\":1,\"type\":\"log\",\"level\":\"INFO\",\"message\":\"loading\"}", "not a frame at all"));
        try (WorkerPool pool = pool(script)) {
            assertEquals("ok", pool.submitTask("t", null).await(ANSWER).as(String.class));
        }
        script.put("beforeReady", List.of("{\"v\":1,\"type\":\"progress\",\"id\":\"t-0\",\"fraction\":0.5}"));
        WorkerStartupException failed = assertThrows(WorkerStartupException.class, () -> pool(script).close());
        assertTrue(failed.getMessage().contains("before ready"), failed.getMessage());
    }

    @Test
    void anUnknownFrameTypeBeforeReadyIsIgnored() throws Exception {
        Map<String, Object> script = new java.util.HashMap<>(tasks("t", List.of(RESULT)));
        script.put("beforeReady", List.of("{\"v\":1,\"type\":\"x-warming-up\",\"percent\":40}"));
        try (WorkerPool pool = pool(script)) {
            assertEquals("ok", pool.submitTask("t", null).await(ANSWER).as(String.class));
        }
    }

    @Test
    void unknownFrameTypesAndMembersAfterReadyAreIgnored() throws Exception {
        try (WorkerPool pool = pool(tasks("t", List.of("{\"v\":1,\"type\":\"x-new\",\"id\":\"{id}\"}",
                "{\"v\":1,\"type\":\"result\",\"id\":\"{id}\",\"result\":\"ok\",\"x-extra\":[1,{\"a\":2}]}")))) {
            assertEquals("ok", pool.submitTask("t", null).await(ANSWER).as(String.class));
            assertEquals(0, pool.snapshot().performance().restarts());
        }
    }

    @Test
    void aKnownFrameWithoutItsRequiredMembersIsALineThatIsNotAFrame() throws Exception {
        try (WorkerPool pool = pool(tasks("partial", List.of("{\"v\":1,\"type\":\"result\"}",
                "{\"v\":1,\"type\":\"progress\",\"fraction\":0.5}", "{\"v\":1,\"type\":\"ready\"}",
                "{\"v\":1,\"type\":\"error\",\"message\":\"whose?\"}", RESULT)))) {
            List<Long> pids = pids(pool);
            assertEquals("ok", pool.submitTask("partial", null).await(ANSWER).as(String.class));
            assertEquals(pids, pids(pool), "not fatal");
        }
    }

    @Test
    void linesThatAreNotFramesAreNotSignsOfLife() throws Exception {
        List<Object> steps = new ArrayList<>();
        steps.add(Map.of("beatsOff", true));
        for (int i = 0; i < 100; i++) {
            steps.add("{\"type\":\"heartbeat\"}"); // no "v": not a frame
            steps.add("{\"v\":1,\"type\":\"heartbeat\"");
            steps.add("still working, honest");
            steps.add(Map.of("sleepMs", 100));
        }
        try (WorkerPool pool = pool(tasks("chatty", steps), g -> { },
                p -> p.heartbeatTimeout(Duration.ofSeconds(1)).retryPolicy(RetryPolicy.none()))) {
            long pid = pool.workers().get(0).pid();
            TaskFailedException hung = assertThrows(TaskFailedException.class,
                    () -> pool.submitTask("chatty", null).await(ANSWER));
            assertEquals(FailureReason.HUNG, hung.reason(), hung.getMessage());
            await("the silent worker to be replaced").atMost(ANSWER).pollInterval(Duration.ofMillis(20))
                    .until(() -> pool.workers().size() == 1 && pool.workers().get(0).pid() != pid);
            pool.workers().forEach(w -> processes.record(w.pid()));
        }
    }

    // ---------------------------------------------------------------------------------------------- answers

    @Test
    void anUnknownErrorKindIsAHandlerError() throws Exception {
        try (WorkerPool pool = pool(tasks("odd", List.of("{\"v\":1,\"type\":\"error\",\"id\":\"{id}\","
                + "\"kind\":\"SOMETHING_NEW\",\"errorClass\":\"Odd\",\"message\":\"m\"}")))) {
            List<Long> pids = pids(pool);
            TaskFailedException failure = assertThrows(TaskFailedException.class,
                    () -> pool.submitTask("odd", null).await(ANSWER));
            assertEquals(FailureReason.HANDLER_ERROR, failure.reason());
            assertEquals("Odd", failure.remoteError().orElseThrow().className());
            assertEquals(pids, pids(pool), "worker kept");
        }
    }

    @Test
    void handlerErrorsAreNotRetriedByDefaultWhateverRetryableSays() throws Exception {
        String retryable = "{\"v\":1,\"type\":\"error\",\"id\":\"{id}\",\"message\":\"again?\",\"retryable\":true}";
        String final_ = "{\"v\":1,\"type\":\"error\",\"id\":\"{id}\",\"message\":\"never\",\"retryable\":false}";
        try (WorkerPool pool = pool(tasks("retryable", List.of(retryable), "final", List.of(final_)))) {
            assertEquals(1, assertThrows(TaskFailedException.class,
                    () -> pool.submitTask("retryable", null).await(ANSWER)).attempts(), "default: not retried");
            RetryPolicy handlerErrorsToo = RetryPolicy.builder().maxAttempts(3).initialDelay(Duration.ofMillis(10))
                    .alsoRetryOn(FailureReason.HANDLER_ERROR).build();
            assertEquals(3, assertThrows(TaskFailedException.class, () -> pool.submitTask(
                    TaskRequest.of("retryable", null).withRetryPolicy(handlerErrorsToo)).await(ANSWER)).attempts(),
                    "retried once the policy asks for it");
            assertEquals(1, assertThrows(TaskFailedException.class, () -> pool.submitTask(
                    TaskRequest.of("final", null).withRetryPolicy(handlerErrorsToo)).await(ANSWER)).attempts(),
                    "\"retryable\": false is never retried");
        }
    }

    @Test
    void progressOutsideZeroToOneIsClamped() throws Exception {
        String progress = "{\"v\":1,\"type\":\"progress\",\"id\":\"{id}\",\"fraction\":%s}";
        try (WorkerPool pool = pool(tasks("p", List.of(Map.of("sleepMs", 500), String.format(progress, "1.5"),
                String.format(progress, "-2"), String.format(progress, "\"NaN\""), String.format(progress, "1e999"),
                String.format(progress, "0.5"), RESULT)))) {
            List<TaskProgress> seen = new CopyOnWriteArrayList<>();
            pool.submitTask("p", null).onProgress(seen::add).await(ANSWER);
            assertEquals(List.of(1.0, 0.0, 0.0, 1.0, 0.5), seen.stream().map(TaskProgress::fraction).toList());
        }
    }

    @Test
    void aTimedOutTaskKeepsItsWorkerIfItStopsWithinTheGracePeriod() throws Exception {
        String stopped = "{\"v\":1,\"type\":\"error\",\"id\":\"{id}\",\"errorClass\":\"Cancelled\"}";
        try (WorkerPool pool = pool(tasks("obeys", List.of(Map.of("waitCancel", true), stopped),
                "ignores", List.of(Map.of("sleepMs", 60_000))), g -> { },
                p -> p.cancelGracePeriod(Duration.ofMillis(1500)))) {
            long pid = pool.workers().get(0).pid();
            TaskFailedException obeyed = assertThrows(TaskFailedException.class, () -> pool.submitTask(
                    TaskRequest.of("obeys", null).withTimeout(Duration.ofMillis(300))).await(ANSWER));
            assertEquals(FailureReason.TIMEOUT, obeyed.reason());
            assertEquals(List.of(pid), pids(pool), "stopped in time: worker kept");

            TaskFailedException ignored = assertThrows(TaskFailedException.class, () -> pool.submitTask(
                    TaskRequest.of("ignores", null).withTimeout(Duration.ofMillis(300))).await(ANSWER));
            assertEquals(FailureReason.TIMEOUT, ignored.reason());
            await("the worker that ignored the cancel to be replaced").atMost(ANSWER)
                    .pollInterval(Duration.ofMillis(20))
                    .until(() -> pool.workers().size() == 1 && pool.workers().get(0).pid() != pid);
            assertFalse(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false), "the old worker is gone");
            assertNotEquals(List.of(pid), pids(pool));
        }
    }

    // ---------------------------------------------------------------------------------------------- limits

    @Test
    void anAnswerTheHostCannotReadEndsItsTaskAtOnce() throws Exception {
        String huge = "{\"v\":1,\"type\":\"result\",\"id\":\"{id}\",\"result\":" + "1".repeat(1001) + "}";
        String noVersion = "{\"type\":\"result\",\"id\":\"{id}\",\"result\":1}";
        try (WorkerPool pool = pool(tasks("huge", List.of(huge), "unversioned", List.of(noVersion)),
                g -> { }, p -> p.retryPolicy(RetryPolicy.none()))) {
            List<Long> pids = pids(pool);
            for (String type : List.of("huge", "unversioned")) {
                TaskFailedException failure = assertThrows(TaskFailedException.class,
                        () -> pool.submitTask(type, null).await(ANSWER), type);
                assertEquals(FailureReason.PROTOCOL_ERROR, failure.reason(), failure.getMessage());
            }
            assertEquals(pids, pids(pool), "the worker's stream is intact: it is kept");
        }
    }

    @Test
    void aPayloadThatCouldNotComeBackIsRefusedAtSubmit() throws Exception {
        try (WorkerPool pool = pool(tasks("echo", List.of(RESULT)))) {
            TaskRejectedException refused = assertThrows(TaskRejectedException.class, () -> pool.submitTask(
                    "echo", Map.of("n", new BigInteger("9".repeat(1001)))));
            assertEquals(TaskRejectedException.Kind.INVALID_PAYLOAD, refused.kind());
            assertTrue(refused.getMessage().contains("1001 digits"), refused.getMessage());
            assertEquals("ok", pool.submitTask("echo", new BigInteger("9".repeat(1000))).await(ANSWER)
                    .as(String.class));
        }
    }
}
