package dev.procpool.examples;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.procpool.core.testing.ProcessLeakCheck;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.FutureTask;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Runs {@link MetricsExample} with real worker JVMs and scrapes its two endpoints while the workload runs. */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class MetricsExampleIT {
    /** Fast-starting worker JVM flags from the build (see it.workerJvmOptions in the parent pom). */
    private static final String JVM_OPTIONS = System.getProperty("procpool.it.workerJvmOptions", "");
    private static final Pattern METRICS_URL = Pattern.compile("(http://127\\.0\\.0\\.1:\\d+)/metrics");

    private final ProcessLeakCheck leaks = ProcessLeakCheck.start();
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    @AfterEach
    void noWorkerProcessLeft() {
        leaks.assertNoneLeft(Duration.ofSeconds(15));
    }

    @Test
    void servesPrometheusMetricsAndAJsonStatusWhileTheWorkloadRuns() throws Exception {
        ByteArrayOutputStream console = new ByteArrayOutputStream();
        PrintStream out = new PrintStream(console, true, StandardCharsets.UTF_8);
        FutureTask<Integer> example = new FutureTask<>(() -> MetricsExample.run(
                new String[] {"--port", "0", "--seconds", "3", "--jvm-options", JVM_OPTIONS}, out));
        new Thread(example, "metrics-example").start();

        // Port 0: the example prints the port it got.
        String base = await("the example to print its URL").atMost(Duration.ofSeconds(60))
                .pollInterval(Duration.ofMillis(50))
                .until(() -> baseUrl(console, example), Objects::nonNull);

        // /status reads the pool afresh on every request: wait until tasks flow.
        ObjectMapper json = new ObjectMapper();
        JsonNode status = await("/status to show submitted tasks").atMost(Duration.ofSeconds(10))
                .pollInterval(Duration.ofMillis(100))
                .until(() -> json.readTree(get(base + "/status").body()),
                        node -> node.at("/metrics/tasks/submitted").asLong() > 0);
        assertEquals("metrics-demo", status.at("/metrics/pool/name").asText(), status::toPrettyString);
        assertEquals(2, status.at("/metrics/pool/size").asInt(), status::toPrettyString);
        assertTrue(status.at("/metrics/performance/workersSpawned").asLong() >= 2, status::toPrettyString);
        assertTrue(status.at("/metrics/health/status").isTextual(), status::toPrettyString);
        assertEquals(2, status.get("workers").size(), status::toPrettyString);
        for (JsonNode worker : status.get("workers")) {
            assertTrue(worker.get("id").asText().startsWith("w-"), status::toPrettyString);
            assertTrue(worker.get("pid").asLong() > 0, status::toPrettyString);
        }

        HttpResponse<String> metrics = get(base + "/metrics");
        assertEquals(200, metrics.statusCode());
        assertTrue(metrics.headers().firstValue("Content-Type").orElse("").startsWith("text/plain"),
                metrics.headers().toString());
        String scrape = metrics.body();
        for (String series : new String[] {
                "procpool_tasks_submitted_total{pool=\"metrics-demo\"}",
                "procpool_tasks_completed_total{outcome=\"succeeded\",pool=\"metrics-demo\"}",
                "procpool_tasks_attempt_failures_total{pool=\"metrics-demo\",reason=\"handler_error\"}",
                "procpool_workers{pool=\"metrics-demo\",state=\"busy\"}",
                "procpool_worker_starts_total{pool=\"metrics-demo\"}",
                "procpool_task_execution_seconds_count{outcome=\"succeeded\",pool=\"metrics-demo\"}",
                "# TYPE procpool_tasks_submitted_total counter"}) {
            assertTrue(scrape.contains(series), () -> series + " missing from\n" + scrape);
        }

        await("the example to finish").atMost(Duration.ofSeconds(60)).until(example::isDone);
        String printed = console.toString(StandardCharsets.UTF_8);
        assertEquals(0, example.get(), printed);
        assertTrue(Pattern.compile("\\d+\\.\\d s: \\d+ submitted, \\d+ completed").matcher(printed).find(), printed);
        assertTrue(printed.contains("Done: "), printed);
        assertTrue(printed.contains("health HEALTHY"), printed);
        assertThrows(IOException.class, () -> get(base + "/metrics"), "the server stops with the example");
    }

    @Test
    void rejectsBadArguments() throws Exception {
        ByteArrayOutputStream console = new ByteArrayOutputStream();
        int status = MetricsExample.run(new String[] {"--port", "http"},
                new PrintStream(console, true, StandardCharsets.UTF_8));
        assertEquals(2, status);
        assertTrue(console.toString(StandardCharsets.UTF_8).contains("usage: MetricsExample"));
    }

    /** The base URL once the example printed it; rethrows the example's failure if it ended without. */
    private static String baseUrl(ByteArrayOutputStream console, FutureTask<Integer> example) throws Exception {
        Matcher url = METRICS_URL.matcher(console.toString(StandardCharsets.UTF_8));
        if (url.find()) {
            return url.group(1);
        }
        if (example.isDone()) {
            throw new AssertionError("the example ended (status " + example.get() + ") without printing a URL:\n"
                    + console.toString(StandardCharsets.UTF_8));
        }
        return null;
    }

    private HttpResponse<String> get(String url) throws IOException, InterruptedException {
        return http.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(5)).build(),
                HttpResponse.BodyHandlers.ofString());
    }
}
