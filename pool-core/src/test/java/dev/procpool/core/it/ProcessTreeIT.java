package dev.procpool.core.it;

import dev.procpool.FailureReason;
import dev.procpool.PoolEvent;
import dev.procpool.PoolState;
import dev.procpool.RetryPolicy;
import dev.procpool.TaskFailedException;
import dev.procpool.TaskHandle;
import dev.procpool.TaskRequest;
import dev.procpool.TaskResult;
import dev.procpool.TaskState;
import dev.procpool.WorkerPool;
import dev.procpool.WorkerSnapshot;
import dev.procpool.core.internal.process.ProcFs;
import dev.procpool.core.internal.process.ProcStat;
import dev.procpool.core.testing.EventLog;
import dev.procpool.core.testing.ProcessLeakCheck;
import dev.procpool.core.testing.Signals;
import dev.procpool.core.testing.TestPools;
import dev.procpool.core.testing.TreeHandler;
import dev.procpool.core.testing.TreeHostMain;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The pool owns each worker's whole process tree: on every way a worker ends, its children end too (see
 * {@link TreeHandler}: an orphaned grandchild in the worker's group, a double-forked child in a session of its own,
 * one without the environment marker, one with neither group nor marker), checked by pid and start time; and a
 * worker's death is seen from the process even while a child holds its stdout open.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class ProcessTreeIT {
    private final ProcessLeakCheck leaks = ProcessLeakCheck.start();
    private final EventLog events = new EventLog();
    private WorkerPool pool;
    @TempDir
    Path dir;

    @BeforeEach
    void linuxOnly() {
        assumeTrue(ProcFs.available() && TestPools.onPath("setsid"), "Linux with /proc and setsid");
    }

    @AfterEach
    void nothingLeftBehind() {
        if (pool != null) {
            pool.close();
        }
        leaks.assertNoneLeft(Duration.ofSeconds(10));
    }

    private WorkerPool startPool(String name) {
        pool = WorkerPool.builder().name(name).workers(1).worker(TestPools.javaWorker(TreeHandler.class))
                .stopGracePeriod(Duration.ofSeconds(1)).cancelGracePeriod(Duration.ofMillis(500))
                .retryPolicy(RetryPolicy.none()).listener(events).start();
        return pool;
    }

    private TaskHandle tree(String then, Map<String, Object> extra) {
        Map<String, Object> payload = new HashMap<>(extra);
        payload.put("then", then);
        payload.put("pidFile", dir.resolve("pids").toString());
        return pool.submitTask(TaskRequest.of(TreeHandler.TREE, payload));
    }

    /**
     * The pids the task wrote, each recorded with its start time while it is known to be alive; then lets the task
     * go on to end its worker.
     */
    private Map<String, ProcStat> pidsOfTree() throws IOException {
        Path file = dir.resolve("pids");
        await("the task to start its children").atMost(Duration.ofSeconds(30)).until(() -> Files.exists(file));
        Map<String, ProcStat> processes = new LinkedHashMap<>();
        for (String line : Files.readAllLines(file)) {
            String[] nameAndPid = line.split("=");
            long pid = Long.parseLong(nameAndPid[1]);
            leaks.record(pid);
            processes.put(nameAndPid[0], ProcStat.read(pid).orElseThrow(
                    () -> new AssertionError(nameAndPid[0] + " " + pid + " is already gone")));
        }
        Files.createFile(dir.resolve("pids.go"));
        return processes;
    }

    /** Waits until the worker's exit is reported, and returns how it ended. */
    private String exitOf(long workerPid) {
        return await("the exit of worker " + workerPid).atMost(Duration.ofSeconds(30))
                .until(() -> events.all(PoolEvent.WorkerExited.class).stream()
                        .filter(e -> e.pid() == workerPid).map(PoolEvent.WorkerExited::exitStatus).findFirst()
                        .orElse(null), status -> status != null);
    }

    /** The children die when their worker does, without waiting for the pool to close. */
    private static void awaitGone(Map<String, ProcStat> processes, String... names) {
        for (String name : names) {
            ProcStat process = processes.get(name);
            await(name + " " + process.pid() + " to be killed with its worker").atMost(Duration.ofSeconds(10))
                    .pollInterval(Duration.ofMillis(20)).until(() -> gone(process));
        }
    }

    private static boolean gone(ProcStat process) {
        return ProcStat.read(process.pid()).map(now -> now.startTicks() != process.startTicks() || now.isZombie())
                .orElse(true);
    }

    @Test
    void aWorkerStoppedForATimeoutThatObeysSigtermTakesItsChildren() throws IOException {
        startPool("timeout");
        TaskHandle hanging = pool.submitTask(TaskRequest.of(TreeHandler.TREE,
                Map.of("then", "hang", "pidFile", dir.resolve("pids").toString())).withTimeout(Duration.ofSeconds(2)));
        Map<String, ProcStat> tree = pidsOfTree();

        assertEquals(FailureReason.TIMEOUT, assertThrows(TaskFailedException.class, hanging::join).reason());
        assertEquals("killed by signal 15 (SIGTERM)", exitOf(tree.get("worker").pid()),
                "the worker ended on the SIGTERM step, not on SIGKILL");
        awaitGone(tree, "grandchild", "daemon", "clean", "hidden");
    }

    @ParameterizedTest
    @ValueSource(strings = {"exit", "halt", "abort", "sigkill"})
    void aWorkerThatDiesByItselfTakesItsChildren(String how) throws IOException {
        startPool("dies-" + how);
        TaskHandle task = tree(how.equals("sigkill") ? "wait" : how, Map.of());
        Map<String, ProcStat> tree = pidsOfTree();
        long worker = tree.get("worker").pid();
        if (how.equals("sigkill")) {
            Signals.send("KILL", worker); // from outside, as the kernel's OOM killer would
        }

        assertEquals(FailureReason.WORKER_CRASHED, assertThrows(TaskFailedException.class, task::join).reason());
        String expected = switch (how) {
            case "exit" -> "exit code 3";
            case "halt" -> "exit code 4";
            case "abort" -> "killed by signal 6 (SIGABRT)";
            default -> "killed by signal 9 (SIGKILL)";
        };
        assertEquals(expected, exitOf(worker));
        awaitGone(tree, "grandchild", "daemon", "clean", "hidden");
    }

    @Test
    void closeTakesTheChildrenOfAWorkerThatExitsOnTheShutdownFrame() throws IOException {
        startPool("close");
        TaskHandle task = tree("return", Map.of());
        Map<String, ProcStat> tree = pidsOfTree();
        task.join();

        pool.close();

        assertEquals(PoolState.TERMINATED, pool.state());
        assertEquals("exit code 0", exitOf(tree.get("worker").pid()), "the worker exited by itself");
        awaitGone(tree, "grandchild", "daemon", "clean", "hidden");
    }

    @Test
    void shutdownNowTakesTheChildrenOfARunningWorker() throws IOException {
        startPool("now");
        TaskHandle running = tree("wait", Map.of());
        Map<String, ProcStat> tree = pidsOfTree();
        await().atMost(Duration.ofSeconds(10)).until(() -> running.state() == TaskState.RUNNING);

        pool.shutdownNow();

        assertEquals(PoolState.TERMINATED, pool.state());
        assertEquals(FailureReason.CANCELLED, assertThrows(TaskFailedException.class, running::join).reason());
        awaitGone(tree, "worker", "grandchild", "daemon", "clean", "hidden");
    }

    @Test
    void theHostsShutdownHookTakesTheChildrenOfItsWorkers() throws Exception {
        Process host = TreeHostMain.start(dir.resolve("pids"));
        try {
            Map<String, ProcStat> tree = pidsOfTree();
            BufferedReader out = new BufferedReader(new InputStreamReader(host.getInputStream(),
                    StandardCharsets.UTF_8));
            String line;
            do {
                line = out.readLine();
            } while (line != null && !line.equals(TreeHostMain.READY));
            assertTrue(line != null, "the host's task ended");
            host.getOutputStream().write('\n');
            host.getOutputStream().flush();
            assertTrue(host.waitFor(30, TimeUnit.SECONDS), "the host exits through System.exit");
            assertEquals(0, host.exitValue());

            awaitGone(tree, "worker", "grandchild", "daemon", "clean", "hidden");
        } finally {
            host.destroyForcibly();
        }
    }

    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void aWorkerThatDiesWhileAChildHoldsItsStdoutIsSeenDead(boolean hideHolder) throws IOException {
        startPool(hideHolder ? "hidden-holder" : "holder");
        TaskHandle task = tree("halt", Map.of("holdStdout", true, "hideHolder", hideHolder));
        Map<String, ProcStat> tree = pidsOfTree();
        long worker = tree.get("worker").pid();

        TaskFailedException failure = assertThrows(TaskFailedException.class,
                () -> task.await(Duration.ofSeconds(15)));
        assertEquals(FailureReason.WORKER_CRASHED, failure.reason());
        awaitGone(tree, "holder", "grandchild", "daemon", "clean", "hidden");
        await("a replacement worker").atMost(Duration.ofSeconds(30)).until(() -> pool.workers().stream()
                .anyMatch(w -> w.pid() != worker && w.state() == dev.procpool.WorkerState.IDLE));
        assertTrue(pool.workers().stream().map(WorkerSnapshot::pid).noneMatch(pid -> pid == worker),
                "the dead worker is no longer listed");

        pool.close();

        assertEquals(PoolState.TERMINATED, pool.state());
    }

    @Test
    void aResultWrittenJustBeforeTheWorkerExitsCounts() throws IOException {
        startPool("last-words");
        AtomicBoolean stalled = new AtomicBoolean();
        TaskHandle task = tree("result-then-halt", Map.of("holdStdout", true));
        // The host's reader is held in a progress listener while the worker writes its result and exits, and for
        // 2 s after: the exit is seen while the result is still unread in the pipe (held open by a child).
        task.onProgress(progress -> {
            if (stalled.compareAndSet(false, true)) {
                ProcStat worker = ProcStat.read(Long.parseLong(progress.message().substring("pid ".length())))
                        .orElseThrow();
                await("the worker to exit").atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(10))
                        .until(() -> gone(worker));
                sleep(Duration.ofSeconds(2));
            }
        });
        Map<String, ProcStat> tree = pidsOfTree();

        TaskResult result = task.await(Duration.ofSeconds(20));

        assertTrue(stalled.get(), "the progress report came before the result");
        assertEquals(tree.get("worker").pid(), ((Number) result.as(Map.class).get("worker")).longValue());
        assertEquals("exit code 0", exitOf(tree.get("worker").pid()));
        awaitGone(tree, "holder", "grandchild", "daemon", "clean", "hidden");
        pool.close();
        assertEquals(PoolState.TERMINATED, pool.state());
    }

    private static void sleep(Duration duration) {
        try {
            Thread.sleep(duration.toMillis()); // the slow listener under test: it holds the reader this long
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
