package dev.procpool.examples.boot;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.jar.JarFile;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The example's executable jar, run as its own JVM on a free port of 127.0.0.1: tasks over HTTP, the pool's meters
 * on Actuator's Prometheus endpoint, its health, and SIGTERM while a task runs: the task finishes, its caller gets
 * the result, the pool closes before the ledger its tasks write to, and no worker is left.
 */
class PoolApplicationIT {
    private static final Pattern PORT = Pattern.compile("Tomcat started on port (\\d+)");
    private static final Pattern WORKER_PID = Pattern.compile("\"pid\":(\\d+)");
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();

    private static Path executableJar() throws IOException {
        try (Stream<Path> files = Files.list(Path.of("target"))) {
            return files.filter(p -> p.getFileName().toString().matches("pool-example-spring-boot-.*\\.jar"))
                    .findFirst().orElseThrow(() -> new IllegalStateException("run mvn package first"));
        }
    }

    /** The application's JVM and everything it logged. */
    private static final class App implements AutoCloseable {
        final Process process;
        final List<String> lines = new ArrayList<>();

        App(Path jar, String... arguments) throws IOException {
            List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java")
                    .toString(), "-XX:TieredStopAtLevel=1", "-jar", jar.toString(), "--server.port=0"));
            command.addAll(List.of(arguments));
            process = new ProcessBuilder(command).redirectErrorStream(true).start();
            Thread reader = new Thread(() -> {
                try (BufferedReader out = new BufferedReader(new InputStreamReader(process.getInputStream(),
                        StandardCharsets.UTF_8))) {
                    for (String line = out.readLine(); line != null; line = out.readLine()) {
                        synchronized (lines) {
                            lines.add(line);
                        }
                    }
                } catch (IOException e) {
                    // the application is gone
                }
            }, "app-output");
            reader.setDaemon(true);
            reader.start();
        }

        List<String> lines() {
            synchronized (lines) {
                return List.copyOf(lines);
            }
        }

        int indexOf(String part) {
            List<String> all = lines();
            for (int i = 0; i < all.size(); i++) {
                if (all.get(i).contains(part)) {
                    return i;
                }
            }
            return -1;
        }

        /** Waits for Boot's "Started" line; the port Tomcat took. */
        int awaitStarted() {
            await("the application to start").atMost(Duration.ofSeconds(120)).pollInterval(Duration.ofMillis(50))
                    .until(() -> indexOf("Started PoolApplication") >= 0 || !process.isAlive());
            assertTrue(process.isAlive(), "the application died: " + String.join("\n", lines()));
            Matcher port = PORT.matcher(String.join("\n", lines()));
            assertTrue(port.find(), String.join("\n", lines()));
            return Integer.parseInt(port.group(1));
        }

        @Override
        public void close() {
            process.descendants().forEach(ProcessHandle::destroyForcibly);
            process.destroyForcibly();
        }
    }

    private HttpResponse<String> get(int port, String path) throws IOException, InterruptedException {
        return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                .timeout(Duration.ofSeconds(30)).build(), HttpResponse.BodyHandlers.ofString());
    }

    private CompletableFuture<HttpResponse<String>> post(int port, String path, String json) {
        return http.sendAsync(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                .header("Content-Type", "application/json").timeout(Duration.ofSeconds(60))
                .POST(HttpRequest.BodyPublishers.ofString(json)).build(), HttpResponse.BodyHandlers.ofString());
    }

    /** A worker as seen now: alive later only while its pid names a process started at the same instant. */
    private record Worker(long pid, Instant start) {
        static Worker of(long pid) {
            return new Worker(pid, ProcessHandle.of(pid).orElseThrow().info().startInstant().orElseThrow());
        }

        boolean alive() {
            Optional<ProcessHandle> process = ProcessHandle.of(pid);
            return process.isPresent() && process.get().isAlive()
                    && process.get().info().startInstant().map(start::equals).orElse(true);
        }
    }

    @Test
    void bootManagesJacksonAndMicrometerToItsOwnVersionsInTheJar() throws IOException {
        try (JarFile jar = new JarFile(executableJar().toFile())) {
            List<String> libraries = jar.stream().map(e -> e.getName()).filter(n -> n.startsWith("BOOT-INF/lib/"))
                    .toList();
            // the premise of the example: procpool is built with newer ones (see the parent pom)
            assertTrue(libraries.stream().anyMatch(n -> n.contains("jackson-databind-2.19.")), libraries.toString());
            assertTrue(libraries.stream().anyMatch(n -> n.contains("micrometer-core-1.15.")), libraries.toString());
            assertTrue(libraries.stream().anyMatch(n -> n.contains("pool-core-")), libraries.toString());
        }
    }

    @ParameterizedTest(name = "procpool.jvm-shutdown={0}")
    @ValueSource(strings = {"none", "drain"})
    void servesTasksMetricsAndHealthThenDrainsOnSigterm(String jvmShutdown, @TempDir Path cache) throws Exception {
        try (App app = new App(executableJar(), "--procpool.jvm-shutdown=" + jvmShutdown,
                "--procpool.worker-cache-directory=" + cache)) {
            int port = app.awaitStarted();

            HttpResponse<String> upper = post(port, "/tasks?wait=true",
                    "{\"type\": \"upper\", \"payload\": {\"text\": \"hello\"}}").get(60, TimeUnit.SECONDS);
            assertEquals(200, upper.statusCode(), upper.body());
            assertTrue(upper.body().contains("\"state\":\"SUCCEEDED\""), upper.body());
            assertTrue(upper.body().contains("\"text\":\"HELLO\""), upper.body());

            HttpResponse<String> prometheus = get(port, "/actuator/prometheus");
            assertEquals(200, prometheus.statusCode());
            for (String meter : List.of("procpool_workers{pool=\"example\",state=\"idle\"}",
                    "procpool_tasks_submitted_total{pool=\"example\"} 1.0",
                    "procpool_tasks_completed_total{outcome=\"succeeded\",pool=\"example\"} 1.0",
                    "procpool_worker_starts_total{pool=\"example\"} 2.0",
                    "procpool_queue_depth{pool=\"example\"} 0.0")) {
                assertTrue(prometheus.body().contains(meter), meter + " in\n" + prometheus.body());
            }

            HttpResponse<String> health = get(port, "/actuator/health");
            assertEquals(200, health.statusCode(), health.body());
            assertTrue(health.body().contains("\"procpool\":{\"status\":\"UP\""), health.body());

            HttpResponse<String> workers = get(port, "/workers");
            List<Worker> processes = new ArrayList<>();
            Matcher pid = WORKER_PID.matcher(workers.body());
            while (pid.find()) {
                processes.add(Worker.of(Long.parseLong(pid.group(1))));
            }
            assertEquals(2, processes.size(), workers.body());

            // two tasks run when SIGTERM comes: one a request waits for (Boot's graceful shutdown waits for it),
            // one in the background (only the pool's drain waits for it, before the ledger closes)
            CompletableFuture<HttpResponse<String>> slow = post(port, "/tasks?wait=true",
                    "{\"type\": \"slow-upper\", \"id\": \"slow-1\", \"payload\": {\"text\": \"slow\", \"ms\": 4000}}");
            HttpResponse<String> background = post(port, "/tasks", "{\"type\": \"slow-upper\", \"id\": \"slow-2\", "
                    + "\"payload\": {\"text\": \"later\", \"ms\": 5000}}").get(30, TimeUnit.SECONDS);
            assertEquals(202, background.statusCode(), background.body());
            await("both slow tasks to run").atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(20))
                    .until(() -> get(port, "/tasks/slow-1").body().contains("\"state\":\"RUNNING\"")
                            && get(port, "/tasks/slow-2").body().contains("\"state\":\"RUNNING\""));
            long sent = System.nanoTime();
            Process kill = new ProcessBuilder("kill", "-TERM", Long.toString(app.process.pid())).inheritIO().start();
            assertEquals(0, kill.waitFor());

            HttpResponse<String> slowResponse = slow.get(60, TimeUnit.SECONDS);
            assertEquals(200, slowResponse.statusCode(), slowResponse.body());
            assertTrue(slowResponse.body().contains("\"text\":\"SLOW\""), slowResponse.body());
            assertTrue(app.process.waitFor(60, TimeUnit.SECONDS), "the application did not exit: "
                    + String.join("\n", app.lines()));
            assertEquals(143, app.process.exitValue(), "exit after SIGTERM");
            assertTrue(System.nanoTime() - sent < TimeUnit.SECONDS.toNanos(30), "well within the drain bound");

            String log = String.join("\n", app.lines());
            assertTrue(app.indexOf("task slow-1 ended: SUCCEEDED") >= 0, log);
            assertTrue(app.indexOf("task slow-2 ended: SUCCEEDED") >= 0, log);
            assertTrue(app.indexOf("task slow-2 ended") < app.indexOf("task ledger closed with 3 outcomes recorded"),
                    "the pool drained before the ledger closed:\n" + log);
            assertFalse(log.contains("lost: the ledger was closed"), log);
            assertFalse(log.contains("WORKER_CRASHED"), log);
            await("the workers " + processes + " to be gone").atMost(Duration.ofSeconds(10))
                    .pollInterval(Duration.ofMillis(20)).until(() -> processes.stream().noneMatch(Worker::alive));
        }
    }
}
