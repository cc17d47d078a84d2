package dev.procpool.examples;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.procpool.PoolSnapshot;
import dev.procpool.TaskContext;
import dev.procpool.TaskHandler;
import dev.procpool.TaskRequest;
import dev.procpool.WorkerPool;
import dev.procpool.WorkerSnapshot;
import dev.procpool.WorkerSpec;
import dev.procpool.core.metrics.PoolMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;

import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;

/**
 * A pool you can watch: while a workload runs on two worker JVMs, the JDK's built-in HTTP server answers on
 * 127.0.0.1 with
 * <ul>
 *   <li>{@code /metrics}: the pool's Micrometer meters ({@link PoolMetrics}) in the Prometheus text format;</li>
 *   <li>{@code /status}: {@link WorkerPool#snapshot()} and {@link WorkerPool#workers()} as JSON.</li>
 * </ul>
 *
 * <pre>
 * MetricsExample [--port N] [--seconds N] [--jvm-options "FLAGS"]
 *
 *   --port N       port on 127.0.0.1 (default 9464; 0 picks a free one)
 *   --seconds N    how long the workload runs (default 20)
 *   --jvm-options  extra options for the worker JVMs, e.g. "-Xmx256m"
 * </pre>
 *
 * <p>Run it with {@code mvn -q -pl pool-examples exec:exec -Dexample.main=dev.procpool.examples.MetricsExample}
 * and, in another terminal, {@code curl -s localhost:9464/metrics | grep ^procpool_tasks} or
 * {@code curl -s localhost:9464/status}. To scrape it with Prometheus:
 * {@code scrape_configs: [{job_name: procpool, static_configs: [{targets: ["localhost:9464"]}]}]}.
 * Exit status: 0, or 2 for bad arguments.
 */
public final class MetricsExample {
    /** The most tasks this program keeps queued or running at once. */
    private static final int MAX_IN_FLIGHT = 8;

    private MetricsExample() {
    }

    public static void main(String[] args) throws Exception {
        System.exit(run(args, System.out));
    }

    /** Runs the example, printing to {@code out}; returns the exit status. */
    public static int run(String[] args, PrintStream out) throws IOException, InterruptedException {
        int port = 9464;
        int seconds = 20;
        List<String> jvmOptions = List.of();
        try {
            for (int i = 0; i < args.length; i++) {
                String value = i + 1 < args.length ? args[i + 1] : "";
                switch (args[i]) {
                    case "--port" -> port = Integer.parseInt(value);
                    case "--seconds" -> seconds = Integer.parseInt(value);
                    case "--jvm-options" -> jvmOptions = Arrays.stream(value.trim().split("\\s+"))
                            .filter(option -> !option.isEmpty()).toList();
                    default -> throw new IllegalArgumentException("unexpected argument \"" + args[i] + "\"");
                }
                i++;
            }
            if (port < 0 || port > 65535 || seconds < 1) {
                throw new IllegalArgumentException("--port must be 0 to 65535 and --seconds at least 1");
            }
        } catch (IllegalArgumentException e) { // NumberFormatException included
            out.println("error: " + e.getMessage());
            out.println("usage: MetricsExample [--port N] [--seconds N] [--jvm-options \"FLAGS\"]");
            return 2;
        }

        PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        ObjectMapper json = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

        PoolMetrics metrics = new PoolMetrics();
        metrics.bindTo(registry); // before start: the first workers' start-up is timed too
        try (metrics; // closed last: the pool stops first, then its meters go
             WorkerPool pool = WorkerPool.builder()
                     .name("metrics-demo")
                     .workers(2)
                     .worker(WorkerSpec.java(SimulatedWorkHandler.class).withExtraJvmOptions(jvmOptions))
                     .heartbeatInterval(Duration.ofMillis(500)) // heartbeats carry each worker's RSS: sample it often
                     .tracker(metrics)
                     .start()) {

            // Both endpoints read the pool when asked; PoolMetrics caches its reads for a second, so scrapes are cheap.
            HttpServer server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 0);
            server.createContext("/metrics", exchange -> respond(exchange,
                    "text/plain; version=0.0.4; charset=utf-8", registry.scrape()));
            server.createContext("/status", exchange -> respond(exchange, "application/json",
                    json.writeValueAsString(new Status(pool.snapshot(), pool.workers()))));
            server.start();
            try {
                String base = "http://127.0.0.1:" + server.getAddress().getPort();
                out.println("Prometheus metrics: " + base + "/metrics");
                out.println("Pool status (JSON): " + base + "/status");
                out.printf("Running a workload for %d s on %d workers...%n", seconds, pool.workers().size());
                runWorkload(pool, seconds, out);
                printSummary(pool.snapshot(), out);
            } finally {
                server.stop(0);
            }
        } // PoolMetrics.close(), then pool.close(): waits for running tasks, then stops every worker process
        return 0;
    }

    /**
     * Submits a mix of short and longer tasks, one in twenty of them failing, for {@code seconds}, keeping at most
     * {@link #MAX_IN_FLIGHT} in the pool; prints the counters every two seconds; returns when every task ended.
     */
    private static void runWorkload(WorkerPool pool, int seconds, PrintStream out) throws InterruptedException {
        long started = System.nanoTime();
        ScheduledExecutorService reporter = Executors.newSingleThreadScheduledExecutor(runnable -> {
            Thread thread = new Thread(runnable, "metrics-reporter");
            thread.setDaemon(true);
            return thread;
        });
        reporter.scheduleAtFixedRate(() -> {
            PoolSnapshot.Tasks tasks = pool.snapshot().tasks();
            out.printf(Locale.ROOT, "  %4.1f s: %d submitted, %d completed, %d failed, %d queued or running%n",
                    (System.nanoTime() - started) / 1e9, tasks.submitted(), tasks.completed(), tasks.failed(),
                    tasks.queued() + tasks.running());
        }, 2, 2, TimeUnit.SECONDS);

        Random random = new Random(42);
        Semaphore inFlight = new Semaphore(MAX_IN_FLIGHT); // back-pressure: never flood the queue
        long end = started + TimeUnit.SECONDS.toNanos(seconds);
        try {
            while (System.nanoTime() < end) {
                if (!inFlight.tryAcquire(100, TimeUnit.MILLISECONDS)) {
                    continue;
                }
                SimulatedWorkHandler.Work work = new SimulatedWorkHandler.Work(
                        random.nextInt(10) == 0 ? 300 : 5 + random.nextInt(60), // mostly short, a few longer
                        random.nextInt(20) == 0);                                 // a few fail: failure counters move
                pool.submitTask(TaskRequest.of(SimulatedWorkHandler.TASK_TYPE, work))
                        // runs on the pool's I/O thread when the task ends, either way: keep it tiny
                        .future().whenComplete((result, error) -> inFlight.release());
            }
            inFlight.acquire(MAX_IN_FLIGHT); // every task has ended
        } finally {
            reporter.shutdownNow();
        }
    }

    private static void printSummary(PoolSnapshot snapshot, PrintStream out) {
        PoolSnapshot.Tasks tasks = snapshot.tasks();
        PoolSnapshot.Performance performance = snapshot.performance();
        out.printf(Locale.ROOT, "Done: %d tasks submitted, %d succeeded, %d failed %s%n", tasks.submitted(),
                tasks.completed(), tasks.failed(), tasks.attemptFailures());
        out.printf(Locale.ROOT, "Mean run time %.1f ms, mean wait %.1f ms; %d workers started, %.1f tasks per worker;"
                        + " health %s%n", performance.averageTaskMillis(), snapshot.queue().averageWaitMillis(),
                performance.workersSpawned(), performance.workerReuseRate(), snapshot.health().status());
    }

    /** The body of {@code /status}. */
    record Status(PoolSnapshot metrics, List<WorkerSnapshot> workers) {
    }

    private static void respond(HttpExchange exchange, String contentType, String body) throws IOException {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().set("Content-Type", contentType);
        exchange.sendResponseHeaders(200, bytes.length);
        try (OutputStream response = exchange.getResponseBody()) {
            response.write(bytes);
        }
    }

    /**
     * Task type {@code work}: pretends to work for {@code millis} (ending early when cancelled), then returns them;
     * throws when {@code fail} is set.
     */
    public static final class SimulatedWorkHandler implements TaskHandler {
        public static final String TASK_TYPE = "work";

        /** The payload. */
        public record Work(int millis, boolean fail) {
        }

        @Override
        public Set<String> taskTypes() {
            return Set.of(TASK_TYPE);
        }

        @Override
        public Object handle(TaskContext context) throws InterruptedException {
            Work work = context.payload(Work.class);
            long until = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(work.millis());
            while (System.nanoTime() < until && !context.isCancelled()) {
                Thread.sleep(5);
            }
            if (work.fail()) {
                throw new IllegalStateException("simulated failure after " + work.millis() + " ms");
            }
            return work.millis();
        }
    }
}
