package dev.procpool.core.testing;

import dev.procpool.PoolConfig;
import dev.procpool.TaskHandle;
import dev.procpool.TaskRejectedException;
import dev.procpool.TaskRequest;
import dev.procpool.TaskStore;
import dev.procpool.WorkerPool;
import dev.procpool.WorkerSnapshot;
import dev.procpool.core.internal.store.UrlDataSource;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

/**
 * A host process of the durable-store fault tests: a pool on a durable task store with Java workers of
 * {@link TestHandler} and {@link WorkHandler}, driven by lines on stdin and answering on stdout, so that a test can
 * kill it with SIGKILL, stop it with SIGSTOP, or limit its file size while it holds tasks. Its log goes to stderr.
 *
 * <p>Arguments are {@code key=value}: {@code store=sqlite:<file>} or {@code store=postgres:<jdbc url>},
 * {@code prefix=<table prefix>}, {@code pool=<name>}, {@code lease=<ms>}, {@code workers=<n>}, and optionally
 * {@code heartbeatTimeout=<ms>}, {@code spawn=true} (a worker starts a child process before the host is ready) and
 * {@code handlers=test} (workers without {@link WorkHandler}: the host cannot run {@code work} tasks).
 *
 * <p>Lines it prints: {@code READY <pid> workers=<pids> child=<pid|->}; {@code SUBMITTED <n> rejected=<n>} once the
 * tasks of a {@code SUBMIT} are durable, then {@code RESULTS ok=<n> wrong=<n> failed=<n>} once each of their handles
 * completed (ok: the result of the very task); {@code SNAPSHOT key=value…}; {@code REJECTED <kind> <message>} or
 * {@code ACCEPTED <id>} for a {@code TRY}; {@code CLOSED}. Commands:
 * <ul>
 *     <li>{@code SUBMIT <id prefix> <from> <to> <ms> [key=value…]}: tasks
 *     {@code <prefix>-<i>} for i in [from, to), each {@code work} of {@code ms} ({@link WorkHandler}), submitted one
 *     by one from 8 threads (their commits are shared); the {@code key=value} words (gates) join the payload;</li>
 *     <li>{@code TRY <id> <payload characters>}: one task with a payload that big, answered at once;</li>
 *     <li>{@code SNAPSHOT}, {@code CLOSE}. The host closes its pool and exits when stdin ends.</li>
 * </ul>
 */
public final class DurableHostMain {
    private static final int SUBMITTERS = 8;

    private DurableHostMain() {
    }

    public static void main(String[] args) throws Exception {
        Map<String, String> options = new HashMap<>();
        for (String arg : args) {
            int at = arg.indexOf('=');
            options.put(arg.substring(0, at), arg.substring(at + 1));
        }
        WorkerPool pool = builder(options).start();
        String child = "-";
        if (Boolean.parseBoolean(options.getOrDefault("spawn", "false"))) {
            Map<?, ?> spawned = pool.submitTask(TaskRequest.of("spawn-child", Map.of())
                    .withId("spawn-" + ProcessHandle.current().pid())).await(Duration.ofSeconds(60)).as(Map.class);
            child = spawned.get("child").toString();
        }
        say("READY " + ProcessHandle.current().pid() + " workers=" + pool.workers().stream()
                .map(w -> Long.toString(w.pid())).collect(Collectors.joining(",")) + " child=" + child);
        ExecutorService submitters = Executors.newFixedThreadPool(SUBMITTERS);
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        String line;
        while ((line = in.readLine()) != null) {
            String[] words = line.trim().split(" ");
            switch (words[0]) {
                case "SUBMIT" -> submit(pool, submitters, words);
                case "TRY" -> tryOne(pool, words[1], Integer.parseInt(words[2]));
                case "SNAPSHOT" -> {
                    var store = pool.snapshot().store();
                    say("SNAPSHOT fenced=" + store.fencedAnswers() + " rescued=" + store.rescuedAttempts()
                            + " available=" + store.available() + " errors=" + store.errors() + " health="
                            + pool.health().status() + " served=" + pool.workers().stream()
                            .mapToLong(WorkerSnapshot::tasksServed).sum());
                }
                case "CLOSE" -> {
                    submitters.shutdownNow();
                    pool.close();
                    say("CLOSED");
                    return;
                }
                default -> say("UNKNOWN " + line);
            }
        }
        submitters.shutdownNow();
        pool.close();
    }

    private static PoolConfig.Builder builder(Map<String, String> options) {
        String store = options.get("store");
        TaskStore.Durable durable = store.startsWith("sqlite:")
                ? TaskStore.sqlite(Path.of(store.substring("sqlite:".length())))
                : TaskStore.postgres(new UrlDataSource(store.substring("postgres:".length())));
        durable = durable.withTablePrefix(options.get("prefix"))
                .withLeaseTimeout(Duration.ofMillis(Long.parseLong(options.get("lease"))));
        return WorkerPool.builder().name(options.get("pool")).taskStore(durable)
                .workers(Integer.parseInt(options.get("workers")))
                .worker(options.getOrDefault("handlers", "all").equals("test") ? TestPools.javaWorker(TestHandler.class)
                        : TestPools.javaWorker(TestHandler.class, WorkHandler.class))
                .heartbeatInterval(Duration.ofMillis(500))
                .heartbeatTimeout(Duration.ofMillis(Long.parseLong(options.getOrDefault("heartbeatTimeout", "10000"))));
    }

    /** Submits the tasks from several threads, says when all are durable, then when all have ended. */
    private static void submit(WorkerPool pool, ExecutorService submitters, String[] words) throws Exception {
        String prefix = words[1];
        int from = Integer.parseInt(words[2]);
        int to = Integer.parseInt(words[3]);
        long ms = Long.parseLong(words[4]);
        Map<String, Object> extra = new HashMap<>();
        for (int w = 5; w < words.length; w++) {
            String[] pair = words[w].split("=", 2);
            extra.put(pair[0], pair[1]);
        }
        Map<Integer, TaskHandle> handles = new LinkedHashMap<>();
        List<Future<Map<Integer, TaskHandle>>> parts = new ArrayList<>();
        for (int s = 0; s < SUBMITTERS; s++) {
            int first = from + s;
            parts.add(submitters.submit(() -> {
                Map<Integer, TaskHandle> mine = new LinkedHashMap<>();
                for (int i = first; i < to; i += SUBMITTERS) {
                    Map<String, Object> payload = new HashMap<>(extra);
                    payload.put("n", i);
                    payload.put("ms", ms);
                    mine.put(i, pool.submitTask(TaskRequest.of("work", payload).withId(prefix + "-" + i)));
                }
                return mine;
            }));
        }
        int rejected = 0;
        for (Future<Map<Integer, TaskHandle>> part : parts) {
            try {
                handles.putAll(part.get());
            } catch (java.util.concurrent.ExecutionException e) {
                if (!(e.getCause() instanceof TaskRejectedException)) {
                    throw e;
                }
                rejected++;
            }
        }
        say("SUBMITTED " + handles.size() + " rejected=" + rejected);
        CompletableFuture.runAsync(() -> awaitResults(handles));
    }

    private static void awaitResults(Map<Integer, TaskHandle> handles) {
        int ok = 0;
        int wrong = 0;
        int failed = 0;
        for (Map.Entry<Integer, TaskHandle> entry : handles.entrySet()) {
            try {
                Map<?, ?> result = entry.getValue().future().get(10, TimeUnit.MINUTES).as(Map.class);
                long n = ((Number) result.get("n")).longValue();
                long square = ((Number) result.get("square")).longValue();
                if (n == entry.getKey() && square == n * n) {
                    ok++;
                } else {
                    wrong++;
                }
            } catch (Exception e) {
                failed++;
            }
        }
        say("RESULTS ok=" + ok + " wrong=" + wrong + " failed=" + failed);
    }

    private static void tryOne(WorkerPool pool, String id, int characters) {
        try {
            pool.submitTask(TaskRequest.of("work", Map.of("n", 1, "pad", "x".repeat(characters))).withId(id));
            say("ACCEPTED " + id);
        } catch (TaskRejectedException e) {
            say("REJECTED " + e.kind() + " " + e.getMessage().replace('\n', ' '));
        }
    }

    private static synchronized void say(String line) {
        System.out.println(line);
        System.out.flush();
    }
}
