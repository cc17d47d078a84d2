package dev.procpool.examples;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.procpool.examples.daemon.PoolDaemon;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A daemon run as its own process with the test's class path, and a small HTTP client for it. */
final class DaemonProcess {
    private static final Pattern READY = Pattern.compile(Pattern.quote(PoolDaemon.READY_PREFIX)
            + "(http://127\\.0\\.0\\.1:(\\d+))");
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    static final ObjectMapper JSON = new ObjectMapper();

    final Process process;
    final String url;
    private final StringBuffer console;

    private DaemonProcess(Process process, String url, StringBuffer console) {
        this.process = process;
        this.url = url;
        this.console = console;
    }

    /** The daemon's command with exactly these POOL_* variables. */
    static ProcessBuilder command(Map<String, String> env) {
        ProcessBuilder builder = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), PoolDaemon.class.getName());
        builder.environment().keySet().removeIf(name -> name.startsWith("POOL_"));
        builder.environment().putAll(env);
        return builder.redirectErrorStream(true);
    }

    /** Starts a daemon and waits until it listens; fails with its output if it does not. */
    static DaemonProcess start(Map<String, String> env) throws IOException {
        Process process = command(env).start();
        StringBuffer console = new StringBuffer();
        Thread reader = new Thread(() -> {
            try (BufferedReader lines = new BufferedReader(
                    new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
                for (String line; (line = lines.readLine()) != null; ) {
                    console.append(line).append('\n');
                }
            } catch (IOException e) {
                console.append("[reader: ").append(e).append("]\n");
            }
        }, "daemon-output-" + process.pid());
        reader.setDaemon(true);
        reader.start();
        await("the daemon to listen").atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(50))
                .until(() -> READY.matcher(console).find() || !process.isAlive());
        Matcher ready = READY.matcher(console);
        if (!ready.find()) {
            process.destroyForcibly();
            throw new AssertionError("the daemon did not start:\n" + console);
        }
        return new DaemonProcess(process, ready.group(1), console);
    }

    String output() {
        return console.toString();
    }

    HttpResponse<String> post(String path, String body) {
        return send(HttpRequest.newBuilder(URI.create(url + path)).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body)));
    }

    HttpResponse<String> get(String path) {
        return send(HttpRequest.newBuilder(URI.create(url + path)).GET());
    }

    HttpResponse<String> delete(String path) {
        return send(HttpRequest.newBuilder(URI.create(url + path)).DELETE());
    }

    JsonNode json(HttpResponse<String> response) {
        try {
            return JSON.readTree(response.body());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    JsonNode status() {
        HttpResponse<String> response = get("/status");
        assertEquals(200, response.statusCode(), response.body());
        return json(response);
    }

    /** The task as GET /tasks/{id} answers, asserting 200. */
    JsonNode task(String id) {
        HttpResponse<String> response = get("/tasks/" + id);
        assertEquals(200, response.statusCode(), id + ": " + response.body());
        return json(response);
    }

    /** Asks for a graceful stop and waits for exit status 0. */
    void stop() throws InterruptedException {
        assertEquals(202, post("/shutdown", "").statusCode());
        assertTrue(process.waitFor(60, TimeUnit.SECONDS), output());
        assertEquals(0, process.exitValue(), output());
    }

    private static HttpResponse<String> send(HttpRequest.Builder request) {
        try {
            return HTTP.send(request.timeout(Duration.ofSeconds(60)).build(), HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
