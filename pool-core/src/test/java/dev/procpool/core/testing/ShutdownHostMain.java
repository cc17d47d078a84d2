package dev.procpool.core.testing;

import dev.procpool.PoolConfig;
import dev.procpool.TaskFailedException;
import dev.procpool.TaskHandle;
import dev.procpool.TaskRequest;
import dev.procpool.TaskState;
import dev.procpool.WorkerPool;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletionException;

/**
 * A host process for the tests of what SIGTERM does to an open pool. Arguments: the pool's
 * {@link PoolConfig.JvmShutdown} ({@code drain}, {@code stop}, {@code none}), how many {@code sleep} tasks to submit
 * and how long each sleeps in ms, then optionally {@code --user-hook}: the host registers its own shutdown hook that
 * closes the pool, as Spring's context does; or {@code --user-hook-with-task}: that hook runs one more task first.
 * It prints
 * {@code PROCESSES <pid>@<start instant> …} (the workers and a worker's child) once two tasks run,
 * {@code RESULT <id> <json>} or {@code FAILED <id> <reason>} as each task ends, {@code USER HOOK TASK <outcome>} and
 * {@code USER HOOK CLOSED <state>} from its own hook, and otherwise waits to be signalled.
 */
public final class ShutdownHostMain {
    public static void main(String[] args) throws Exception {
        PoolConfig.JvmShutdown mode = PoolConfig.JvmShutdown.valueOf(args[0].toUpperCase(Locale.ROOT));
        int tasks = Integer.parseInt(args[1]);
        long sleepMs = Long.parseLong(args[2]);
        String userHook = args.length > 3 ? args[3] : "";

        WorkerPool pool = WorkerPool.builder().name("sigterm").workers(2)
                .worker(TestPools.javaWorker(TestHandler.class)).jvmShutdown(mode)
                .shutdownTimeout(Duration.ofSeconds(60)).stopGracePeriod(Duration.ofMillis(500)).start();
        if (userHook.startsWith("--user-hook")) {
            boolean withTask = userHook.equals("--user-hook-with-task");
            Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                try {
                    if (withTask) {
                        print("USER HOOK TASK " + pool.submitTask("pid", Map.of()).await(Duration.ofSeconds(30)).json());
                    }
                } catch (RuntimeException e) {
                    print("USER HOOK TASK FAILED " + e);
                }
                pool.close();
                print("USER HOOK CLOSED " + pool.state());
            }, "user-hook"));
        }
        Map<?, ?> spawned = pool.submitTask("spawn-child", Map.of()).join().as(Map.class);
        long child = ((Number) spawned.get("child")).longValue();

        List<TaskHandle> handles = new ArrayList<>();
        for (int i = 0; i < tasks; i++) {
            TaskHandle handle = pool.submitTask(TaskRequest.of("sleep", Map.of("ms", sleepMs)).withId("sleep-" + i));
            handle.future().whenComplete((result, error) -> {
                Throwable cause = error instanceof CompletionException ? error.getCause() : error;
                print(cause == null ? "RESULT " + handle.id() + " " + result.json()
                        : "FAILED " + handle.id() + " " + (cause instanceof TaskFailedException failed
                        ? failed.reason() : cause.toString()));
            });
            handles.add(handle);
        }
        long giveUpAt = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(60);
        while (handles.stream().filter(h -> h.state() == TaskState.RUNNING).count() < Math.min(2, tasks)) {
            if (System.nanoTime() - giveUpAt > 0) {
                throw new IllegalStateException("fewer than two tasks ran within 60 s: " + handles);
            }
            Thread.sleep(10); // polling the host's own handles until two tasks run, bounded above
        }
        StringBuilder processes = new StringBuilder("PROCESSES");
        pool.workers().forEach(w -> processes.append(' ').append(identity(w.pid())));
        processes.append(' ').append(identity(child));
        print(processes.toString());
        Thread.currentThread().join(); // until signalled
    }

    private static String identity(long pid) {
        return pid + "@" + ProcessHandle.of(pid).orElseThrow().info().startInstant().orElseThrow();
    }

    private static synchronized void print(String line) {
        System.out.println(line);
        System.out.flush();
    }
}
