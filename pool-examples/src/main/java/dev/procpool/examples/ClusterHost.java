package dev.procpool.examples;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.procpool.PoolSnapshot;
import dev.procpool.TaskContext;
import dev.procpool.TaskHandle;
import dev.procpool.TaskHandler;
import dev.procpool.TaskInfo;
import dev.procpool.TaskRequest;
import dev.procpool.TaskState;
import dev.procpool.WorkerGroup;
import dev.procpool.WorkerPool;
import dev.procpool.WorkerSpec;
import dev.procpool.examples.daemon.StoreLocation;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * One host of {@link ClusterExample}: a JVM with a worker pool on the shared PostgreSQL store. It submits its own
 * tasks ({@code <name>-<n>}), runs whatever tasks of the pool its workers can take (its own and the other hosts'),
 * and talks to the example over its standard streams, one line each:
 *
 * <ul>
 *   <li>out: {@code ready {...}} once started; {@code status {...}} every second (its tasks, what its workers ran,
 *       the store as it sees it); {@code done {...}} once all of its own tasks ended; {@code audit {...}} in answer
 *       to {@code audit};</li>
 *   <li>in: {@code audit HOSTS TASKS} waits until every task of the run ended, wherever it ran, and accounts for
 *       each from the store; {@code stop}, or the end of the input, closes the pool and exits.</li>
 * </ul>
 *
 * Arguments: {@code --name NAME --pool POOL --url URL [--user U] [--password-file F] --tasks N --work-ms N
 * --workers N --lease-ms N [--jvm-options "FLAGS"]}. Its log goes to standard error.
 */
public final class ClusterHost {
    /** The task type the hosts run. */
    public static final String TASK_TYPE = "cluster-work";
    /** The worker environment variable naming the host, so that a result tells who ran it. */
    static final String HOST_VARIABLE = "CLUSTER_HOST";
    private static final ObjectMapper JSON = new ObjectMapper();

    private final String name;
    private final WorkerPool pool;
    private final PrintStream out;
    private final List<TaskHandle> own = new ArrayList<>();
    private final AtomicInteger ownEnded = new AtomicInteger();
    private final AtomicInteger ownFailed = new AtomicInteger();
    /** Who ran this host's own tasks, by host name: results that reached this submitter from anywhere. */
    private final Map<String, Integer> ownRanBy = new ConcurrentHashMap<>();

    private ClusterHost(String name, WorkerPool pool, PrintStream out) {
        this.name = name;
        this.pool = pool;
        this.out = out;
    }

    public static void main(String[] args) throws Exception {
        System.exit(run(args, System.out));
    }

    static int run(String[] args, PrintStream out) throws IOException, InterruptedException {
        CommandLine line = CommandLine.parse(args, Set.of("--name", "--pool", "--url", "--user", "--password-file",
                "--tasks", "--work-ms", "--workers", "--lease-ms", "--jvm-options"), Set.of());
        String name = line.text("--name").orElseThrow(() -> new IllegalArgumentException("--name is required"));
        StoreLocation store = StoreLocation.parse("--url", line.text("--url").orElse(null),
                line.text("--user").orElse(null), "--user", line.text("--password-file").orElse(null),
                "--password-file");
        if (store.kind() != StoreLocation.Kind.POSTGRESQL) {
            throw new IllegalArgumentException("--url must be a jdbc:postgresql: URL: the hosts share its queue");
        }
        int tasks = line.integer("--tasks", 100, 0, 1_000_000);
        int workMillis = line.integer("--work-ms", 100, 0, 600_000);
        Duration lease = Duration.ofMillis(line.integer("--lease-ms", 5000, 1500, 3_600_000));
        String poolName = line.text("--pool").orElse("cluster");

        WorkerGroup workers = WorkerGroup.builder("work", WorkerSpec.java(WorkHandler.class)
                        .withExtraJvmOptions(line.jvmOptions("--jvm-options")))
                .workers(line.integer("--workers", 2, 1, 64))
                .environment(HOST_VARIABLE, name)
                .build();
        try (WorkerPool pool = WorkerPool.builder().name(poolName).group(workers)
                .heartbeatInterval(Duration.ofMillis(500)) // leases are renewed with the heartbeat
                .taskStore(store.taskStore(poolName, lease))
                .start()) {
            ClusterHost host = new ClusterHost(name, pool, out);
            host.say("ready", host.status());
            host.submit(tasks, workMillis);
            Thread reporter = new Thread(host::report, "cluster-host-status");
            reporter.setDaemon(true);
            reporter.start();
            host.obey(new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8)));
        }
        return 0;
    }

    private void submit(int tasks, int workMillis) {
        for (int n = 0; n < tasks; n++) {
            TaskHandle handle = pool.submitTask(TaskRequest.of(TASK_TYPE, Map.of("ms", workMillis))
                    .withId(name + "-" + n));
            own.add(handle);
            handle.future().whenComplete((result, failure) -> {
                if (failure == null) {
                    ownRanBy.merge(String.valueOf(result.as(Map.class).get("host")), 1, Integer::sum);
                } else {
                    ownFailed.incrementAndGet();
                }
                ownEnded.incrementAndGet();
            });
        }
    }

    /** Every second: status; once, when all of this host's own tasks ended: done. */
    private void report() {
        boolean reportedDone = false;
        try {
            while (true) {
                ObjectNode status = status();
                say("status", status);
                if (!reportedDone && ownEnded.get() == own.size()) {
                    say("done", status);
                    reportedDone = true;
                }
                Thread.sleep(1000);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Commands from the example, until {@code stop} or the end of the input. */
    private void obey(BufferedReader commands) throws IOException, InterruptedException {
        for (String command; (command = commands.readLine()) != null; ) {
            String[] words = command.trim().split("\\s+");
            if (words[0].equals("stop")) {
                return;
            }
            if (words[0].equals("audit") && words.length == 3) {
                say("audit", audit(Integer.parseInt(words[1]), Integer.parseInt(words[2])));
            }
        }
    }

    private ObjectNode status() {
        PoolSnapshot snapshot = pool.snapshot();
        ObjectNode node = JSON.createObjectNode().put("host", name).put("pid", ProcessHandle.current().pid())
                .put("submitted", own.size()).put("ownEnded", ownEnded.get()).put("ownFailed", ownFailed.get())
                .put("ranHere", snapshot.tasks().completed()).put("running", snapshot.tasks().running());
        node.set("ownRanBy", JSON.valueToTree(new TreeMap<>(ownRanBy)));
        node.set("store", JSON.valueToTree(snapshot.store()));
        return node;
    }

    /**
     * Waits until every task of the run ended (hosts {@code h1..hN}, tasks {@code 0..T-1} each), then accounts for
     * each from the store: its state, who ran it (its result says), its attempts and their reasons.
     */
    private ObjectNode audit(int hosts, int tasks) throws InterruptedException {
        int total = 0;
        int succeeded = 0;
        int missing = 0;
        int ranElsewhere = 0;
        int hostLostAttempts = 0;
        int rescuedTasks = 0;
        Map<String, Integer> ranBy = new TreeMap<>();
        List<String> problems = new ArrayList<>();
        for (int h = 1; h <= hosts; h++) {
            for (int n = 0; n < tasks; n++) {
                String id = "h" + h + "-" + n;
                total++;
                TaskHandle handle = pool.handle(id).orElse(null);
                if (handle == null) {
                    missing++;
                    problems.add(id + ": unknown to the store");
                    continue;
                }
                try {
                    handle.future().get(5, TimeUnit.MINUTES);
                } catch (Exception e) {
                    // accounted for below from the store
                }
                TaskInfo info = pool.task(id).orElseThrow();
                if (info.state() != TaskState.SUCCEEDED) {
                    problems.add(id + ": " + info.state() + " " + info.failureMessage());
                    continue;
                }
                succeeded++;
                String runner = runner(info);
                ranBy.merge(runner, 1, Integer::sum);
                ranElsewhere += runner.equals("h" + h) ? 0 : 1;
                long lost = info.failedAttempts().stream().filter(a -> a.reason().name().equals("HOST_LOST")).count();
                hostLostAttempts += (int) lost;
                rescuedTasks += lost > 0 ? 1 : 0;
            }
        }
        ObjectNode node = JSON.createObjectNode().put("by", name).put("total", total).put("succeeded", succeeded)
                .put("missing", missing).put("ranElsewhere", ranElsewhere).put("hostLostAttempts", hostLostAttempts)
                .put("rescuedTasks", rescuedTasks);
        node.set("ranBy", JSON.valueToTree(ranBy));
        node.set("problems", JSON.valueToTree(problems.subList(0, Math.min(20, problems.size()))));
        return node;
    }

    private static String runner(TaskInfo info) {
        try {
            JsonNode result = JSON.readTree(info.result().orElse("{}"));
            return result.path("host").asText("?");
        } catch (IOException e) {
            return "?";
        }
    }

    private void say(String kind, JsonNode body) {
        synchronized (out) {
            out.println(kind + " " + body);
            out.flush();
        }
    }

    /** Runs in the worker JVMs: works for the payload's {@code ms} and says which host's worker did it. */
    public static final class WorkHandler implements TaskHandler {
        private final String host = System.getenv().getOrDefault(HOST_VARIABLE, "?");

        @Override
        public Set<String> taskTypes() {
            return Set.of(TASK_TYPE);
        }

        @Override
        public Object handle(TaskContext context) throws Exception {
            long ms = context.payload(JsonNode.class).path("ms").asLong();
            long deadline = System.nanoTime() + ms * 1_000_000L;
            while (System.nanoTime() < deadline && !context.isCancelled()) {
                Thread.sleep(Math.max(1, Math.min(20, (deadline - System.nanoTime()) / 1_000_000L)));
            }
            return Map.of("host", host, "worker", ProcessHandle.current().pid());
        }
    }
}
