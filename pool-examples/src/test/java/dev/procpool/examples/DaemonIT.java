package dev.procpool.examples;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.procpool.examples.daemon.PoolDaemon;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.AfterTestExecutionCallback;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.function.Supplier;
import java.util.regex.Pattern;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Runs the daemon as its own process, as a user would: over HTTP it takes tasks, reports status, metrics and dead
 * letters, refuses bad input naming the field, and stops gracefully leaving no pid file and no worker behind. Also
 * drives {@code bin/procpoold start | status | stop} end to end.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class DaemonIT {
    /** Fast-starting worker JVM flags from the build (see it.workerJvmOptions in the parent pom). */
    private static final String JVM_OPTIONS = System.getProperty("procpool.it.workerJvmOptions", "");
    private static final Duration START_TIMEOUT = Duration.ofSeconds(90);
    private static final Duration STOP_TIMEOUT = Duration.ofSeconds(60);
    private static final Pattern READY = Pattern.compile(Pattern.quote(PoolDaemon.READY_PREFIX)
            + "(http://127\\.0\\.0\\.1:(\\d+))");

    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private final ObjectMapper json = new ObjectMapper();
    /** Every daemon and worker pid seen, killed after each test if still alive (only when a test failed). */
    private final List<Long> spawned = new ArrayList<>();
    /** What the daemons printed, shown when a test fails. */
    private final List<Supplier<String>> diagnostics = new ArrayList<>();

    @RegisterExtension
    final AfterTestExecutionCallback printDiagnosticsOnFailure = context -> {
        if (context.getExecutionException().isPresent()) {
            diagnostics.forEach(d -> System.out.println(d.get()));
        }
    };

    /** The daemons and workers each test saw, by pid and start time. */
    private final ProcessRecords processes = new ProcessRecords();

    @AfterEach
    void killLeftovers() {
        spawned.forEach(pid -> ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly));
    }

    @Test
    void servesTasksStatusAndMetricsOverHttpAndStopsGracefully(@TempDir Path temp) throws Exception {
        Path pidFile = temp.resolve("run/daemon.pid");
        Daemon daemon = startDaemon(Map.of("POOL_PORT", "0", "POOL_SIZE", "2", "POOL_NAME", "daemon-it",
                "POOL_PID_FILE", pidFile.toString(), "POOL_JVM_OPTIONS", JVM_OPTIONS));
        String base = daemon.url;
        assertEquals(String.valueOf(daemon.process.pid()), Files.readString(pidFile).trim(), "the pid file");

        // Submit and wait for the result.
        HttpResponse<String> upper = post(base + "/tasks?wait=true", "{\"type\": \"upper\", \"payload\": \"hello\"}");
        assertEquals(200, upper.statusCode(), upper.body());
        JsonNode done = json.readTree(upper.body());
        assertEquals("SUCCEEDED", done.get("state").asText(), upper.body());
        assertEquals("HELLO", done.get("result").asText(), upper.body());
        assertNotEquals(daemon.process.pid(), done.get("workerPid").asLong(), "ran in a worker process");

        // Submit without waiting, with an id and a priority, then poll the task.
        HttpResponse<String> accepted = post(base + "/tasks",
                "{\"type\": \"echo\", \"payload\": {\"a\": [1, 2]}, \"id\": \"job-1\", \"priority\": 5}");
        assertEquals(202, accepted.statusCode(), accepted.body());
        assertEquals("job-1", json.readTree(accepted.body()).get("id").asText());
        assertEquals("/tasks/job-1", accepted.headers().firstValue("Location").orElse(""));
        JsonNode job = awaitTask(base, "job-1", "SUCCEEDED");
        assertEquals(json.readTree("{\"a\": [1, 2]}"), job.get("result"), job.toString());
        assertEquals(5, job.get("priority").asInt());

        // A duplicate id while the first task runs is a conflict; a running task can be cancelled.
        assertEquals(202, post(base + "/tasks", "{\"type\": \"sleep\", \"payload\": 30000, \"id\": \"long\"}")
                .statusCode());
        awaitTask(base, "long", "RUNNING");
        HttpResponse<String> duplicate = post(base + "/tasks", "{\"type\": \"echo\", \"id\": \"long\"}");
        assertEquals(409, duplicate.statusCode(), duplicate.body());
        assertTrue(error(duplicate).startsWith("id:"), duplicate.body());
        HttpResponse<String> cancel = send(HttpRequest.newBuilder(URI.create(base + "/tasks/long")).DELETE());
        assertEquals(200, cancel.statusCode(), cancel.body());
        awaitTask(base, "long", "CANCELLED");

        // A handler error: not retried by default, so the task fails; the dead-letter queue is for tasks the pool
        // gave up retrying, and stays empty.
        HttpResponse<String> failed = post(base + "/tasks?wait=true", "{\"type\": \"upper\", \"payload\": 5, "
                + "\"id\": \"bad-upper\"}");
        assertEquals(200, failed.statusCode(), failed.body());
        JsonNode failure = json.readTree(failed.body()).get("failure");
        assertEquals("HANDLER_ERROR", failure.get("reason").asText(), failed.body());
        assertEquals("java.lang.IllegalArgumentException", failure.get("remoteError").get("className").asText());
        JsonNode deadLetters = json.readTree(get(base + "/deadletters").body());
        assertEquals(0, deadLetters.get("entries").size(), deadLetters.toString());
        awaitTask(base, "bad-upper", "FAILED");

        // Bad input: 400 naming the field; unknown things: 404.
        assertBadRequest(base, "{\"type\": \"echo\", \"priority\": \"high\"}", "priority");
        assertBadRequest(base, "{\"payload\": 1}", "type");
        assertBadRequest(base, "{\"type\": \"no-such-type\"}", "type");
        assertBadRequest(base, "{\"type\": \"echo\", \"timeoutMs\": -1}", "timeoutMs");
        assertBadRequest(base, "{\"type\": \"echo\", \"colour\": \"red\"}", "colour");
        assertBadRequest(base, "{\"type\": ", "JSON");
        assertEquals(404, get(base + "/tasks/no-such-task").statusCode());
        assertEquals(404, get(base + "/nowhere").statusCode());
        assertEquals(405, send(HttpRequest.newBuilder(URI.create(base + "/status"))
                .POST(HttpRequest.BodyPublishers.noBody())).statusCode());
        HttpResponse<String> fromBrowser = send(HttpRequest.newBuilder(URI.create(base + "/status"))
                .header("Origin", "http://example.com").GET());
        assertEquals(403, fromBrowser.statusCode(), "requests from web pages are refused");

        // Status: the pool snapshot and its workers.
        JsonNode status = json.readTree(get(base + "/status").body());
        assertEquals("RUNNING", status.get("metrics").get("pool").get("state").asText(), status.toString());
        assertEquals("daemon-it", status.get("metrics").get("pool").get("name").asText());
        assertTrue(status.get("metrics").get("tasks").get("submitted").asLong() >= 4, status.toString());
        assertEquals(daemon.process.pid(), status.get("daemon").get("pid").asLong());
        List<Long> workerPids = workerPids(status);
        assertEquals(2, workerPids.size(), status.toString());

        // Metrics: Prometheus text from PoolMetrics.
        HttpResponse<String> metrics = get(base + "/metrics");
        assertEquals(200, metrics.statusCode());
        assertTrue(metrics.headers().firstValue("Content-Type").orElse("").startsWith("text/plain"));
        assertTrue(metrics.body().contains("procpool_tasks_submitted_total{pool=\"daemon-it\"}"), metrics.body());
        assertTrue(metrics.body().contains("procpool_workers{"), metrics.body());

        // Graceful stop: a task running when the stop is asked still completes, and its waiting client gets it.
        CompletableFuture<HttpResponse<String>> draining = http.sendAsync(HttpRequest.newBuilder(
                        URI.create(base + "/tasks?wait=true"))
                .POST(HttpRequest.BodyPublishers.ofString("{\"type\": \"sleep\", \"payload\": 2000, \"id\": \"drain\"}"))
                .build(), HttpResponse.BodyHandlers.ofString());
        awaitTask(base, "drain", "RUNNING");
        HttpResponse<String> shutdown = post(base + "/shutdown", "");
        assertEquals(202, shutdown.statusCode(), shutdown.body());
        HttpResponse<String> late = post(base + "/tasks", "{\"type\": \"echo\"}");
        assertEquals(503, late.statusCode(), late.body());

        HttpResponse<String> drained = draining.get(STOP_TIMEOUT.toSeconds(), TimeUnit.SECONDS);
        assertEquals(200, drained.statusCode(), drained.body());
        assertEquals("SUCCEEDED", json.readTree(drained.body()).get("state").asText(), drained.body());

        assertTrue(daemon.process.waitFor(STOP_TIMEOUT.toSeconds(), TimeUnit.SECONDS), daemon.output());
        assertEquals(0, daemon.process.exitValue(), daemon.output());
        assertTrue(daemon.output().contains("procpool daemon stopped"), daemon.output());
        assertFalse(Files.exists(pidFile), "the pid file is removed");
        awaitGone(workerPids);
    }

    /**
     * Clients that stop mid-headers or mid-body (more of them than the old four request threads) hold up no one:
     * other requests are answered while they stall, and the server closes them after the request timeout. Their
     * aborted uploads are logged in one line each, without a stack trace.
     */
    @Test
    void staysResponsiveWhileClientsStallMidRequestAndClosesThemAfterTheTimeout(@TempDir Path temp) throws Exception {
        Daemon daemon = startDaemon(Map.of("POOL_PORT", "0", "POOL_SIZE", "1", "POOL_NAME", "stall-it",
                "POOL_REQUEST_TIMEOUT_MS", "6000", "POOL_JVM_OPTIONS", JVM_OPTIONS));
        String base = daemon.url;
        int port = URI.create(base).getPort();
        List<java.net.Socket> stalled = new ArrayList<>();
        try {
            for (int i = 0; i < 6; i++) {
                stalled.add(stall(port, "POST /tasks HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: app"));
                stalled.add(stall(port, "POST /tasks HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n\r\n"
                        + "{\"type\": \"echo\", "));
            }
            long start = System.nanoTime();
            assertEquals(200, get(base + "/status").statusCode());
            HttpResponse<String> echo = post(base + "/tasks?wait=true", "{\"type\": \"echo\", \"payload\": 7}");
            assertEquals(200, echo.statusCode(), echo.body());
            assertEquals(7, json.readTree(echo.body()).get("result").asInt());
            long servedMillis = (System.nanoTime() - start) / 1_000_000;
            // Served while every stalled client is still connected: nothing waited for the timeout.
            for (java.net.Socket socket : stalled) {
                assertTrue(stillOpen(socket), "a stalled connection was closed before its timeout (requests took "
                        + servedMillis + " ms)");
            }
            await("the stalled connections to be closed").atMost(Duration.ofSeconds(20))
                    .pollInterval(Duration.ofMillis(100)).until(() -> stalled.stream().noneMatch(DaemonIT::stillOpen));
            assertEquals(200, get(base + "/status").statusCode(), "still serving afterwards");
        } finally {
            for (java.net.Socket socket : stalled) {
                socket.close();
            }
        }
        assertEquals(202, post(base + "/shutdown", "").statusCode());
        assertTrue(daemon.process.waitFor(STOP_TIMEOUT.toSeconds(), TimeUnit.SECONDS), daemon.output());
        String output = daemon.output();
        assertTrue(output.contains("the request body could not be read"), output);
        assertFalse(output.contains("ERROR") || output.contains("\tat "), "no error and no stack trace:\n" + output);
        processes.assertNoneAlive(Duration.ofSeconds(30));
    }

    /**
     * The connections the daemon reads at once are bounded: past its request threads and their queue, a new
     * connection is refused at once instead of waiting behind stalled ones, and once the stalled ones time out the
     * daemon serves again.
     */
    @Test
    void refusesConnectionsBeyondItsBoundAndServesAgainAfterTheTimeout(@TempDir Path temp) throws Exception {
        Daemon daemon = startDaemon(Map.of("POOL_PORT", "0", "POOL_SIZE", "1", "POOL_NAME", "bound-it",
                "POOL_REQUEST_TIMEOUT_MS", "4000", "POOL_JVM_OPTIONS", JVM_OPTIONS));
        int port = URI.create(daemon.url).getPort();
        int bound = PoolDaemon.HTTP_THREADS + PoolDaemon.HTTP_QUEUE;
        List<java.net.Socket> stalled = new ArrayList<>();
        try {
            for (int i = 0; i < bound + 8; i++) {
                stalled.add(stall(port, "GET /status HTTP/1.1\r\nHost: 127.0.0.1\r\n"));
            }
            await("a connection past the bound to be refused").atMost(Duration.ofSeconds(3))
                    .pollInterval(Duration.ofMillis(50)).until(() -> {
                        try (java.net.Socket probe = new java.net.Socket("127.0.0.1", port)) {
                            probe.setSoTimeout(1000);
                            probe.getOutputStream().write("GET /status HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
                                    .getBytes(StandardCharsets.US_ASCII));
                            return probe.getInputStream().read() < 0;
                        } catch (java.net.SocketTimeoutException e) {
                            return false; // waiting, not refused
                        } catch (IOException e) {
                            return true; // reset
                        }
                    });
            await("the daemon to serve again once the stalled connections timed out").atMost(Duration.ofSeconds(20))
                    .pollInterval(Duration.ofMillis(200)).ignoreExceptions()
                    .until(() -> get(daemon.url + "/status").statusCode() == 200);
        } finally {
            for (java.net.Socket socket : stalled) {
                socket.close();
            }
        }
        assertEquals(202, post(daemon.url + "/shutdown", "").statusCode());
        assertTrue(daemon.process.waitFor(STOP_TIMEOUT.toSeconds(), TimeUnit.SECONDS), daemon.output());
        assertFalse(daemon.output().contains("ERROR") || daemon.output().contains("\tat "), daemon.output());
        processes.assertNoneAlive(Duration.ofSeconds(30));
    }

    /** A chunked body that breaks off into garbage is a bad request: 400 naming the problem, no 500, no stack. */
    @Test
    void aBrokenChunkedBodyIsABadRequest(@TempDir Path temp) throws Exception {
        Daemon daemon = startDaemon(Map.of("POOL_PORT", "0", "POOL_SIZE", "1", "POOL_NAME", "chunk-it",
                "POOL_JVM_OPTIONS", JVM_OPTIONS));
        int port = URI.create(daemon.url).getPort();
        for (String body : List.of("zz\r\n{\"type\"\r\n0\r\n\r\n", "5\r\n{\"typ\r\n-3\r\n\r\n")) {
            try (java.net.Socket socket = new java.net.Socket("127.0.0.1", port)) {
                socket.setSoTimeout(15_000);
                socket.getOutputStream().write(("POST /tasks HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                        + "Transfer-Encoding: chunked\r\nContent-Type: application/json\r\n\r\n" + body)
                        .getBytes(StandardCharsets.US_ASCII));
                String answer = readResponse(socket);
                assertTrue(answer.startsWith("HTTP/1.1 400"), answer);
                assertTrue(answer.contains("the request body could not be read"), answer);
            }
        }
        HttpResponse<String> fine = post(daemon.url + "/tasks?wait=true", "{\"type\": \"upper\", \"payload\": \"ok\"}");
        assertEquals("OK", json.readTree(fine.body()).get("result").asText(), fine.body());
        assertEquals(202, post(daemon.url + "/shutdown", "").statusCode());
        assertTrue(daemon.process.waitFor(STOP_TIMEOUT.toSeconds(), TimeUnit.SECONDS), daemon.output());
        String output = daemon.output();
        assertFalse(output.contains("ERROR") || output.contains("\tat "), "no error and no stack trace:\n" + output);
        assertTrue(output.contains("the request body could not be read"), output);
        processes.assertNoneAlive(Duration.ofSeconds(30));
    }

    /** One HTTP response read from a raw socket: the headers, then as many body bytes as Content-Length says. */
    private static String readResponse(java.net.Socket socket) throws IOException {
        java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();
        java.io.InputStream in = socket.getInputStream();
        int headerEnd = -1;
        int length = 0;
        while (true) {
            int b = in.read();
            if (b < 0) {
                break;
            }
            bytes.write(b);
            String text = bytes.toString(StandardCharsets.ISO_8859_1);
            if (headerEnd < 0 && text.endsWith("\r\n\r\n")) {
                headerEnd = text.length();
                Matcher m = Pattern.compile("(?i)content-length: *(\\d+)").matcher(text);
                length = m.find() ? Integer.parseInt(m.group(1)) : 0;
            }
            if (headerEnd >= 0 && bytes.size() >= headerEnd + length) {
                break;
            }
        }
        return bytes.toString(StandardCharsets.UTF_8);
    }

    private static java.net.Socket stall(int port, String partialRequest) throws IOException {
        java.net.Socket socket = new java.net.Socket("127.0.0.1", port);
        socket.getOutputStream().write(partialRequest.getBytes(StandardCharsets.US_ASCII));
        socket.getOutputStream().flush();
        return socket;
    }

    /** Whether the server has neither closed nor reset the connection (nothing is read: it sends nothing). */
    private static boolean stillOpen(java.net.Socket socket) {
        try {
            socket.setSoTimeout(50);
            return socket.getInputStream().read() >= 0;
        } catch (java.net.SocketTimeoutException e) {
            return true;
        } catch (IOException e) {
            return false; // reset, or closed by us
        }
    }

    @Test
    void refusesBadSettingsNamingTheVariable(@TempDir Path temp) throws Exception {
        Path pidFile = temp.resolve("daemon.pid");
        ProcessBuilder builder = daemonCommand(Map.of("POOL_SIZE", "zero", "POOL_BIND", "0.0.0.0",
                "POOL_PID_FILE", pidFile.toString()));
        Path out = temp.resolve("out.txt");
        Process process = builder.redirectErrorStream(true).redirectOutput(out.toFile()).start();
        spawned.add(process.pid());
        assertTrue(process.waitFor(30, TimeUnit.SECONDS));
        String printed = Files.readString(out);
        assertEquals(2, process.exitValue(), printed);
        assertTrue(printed.contains("POOL_SIZE must be an integer from 1 to 1024, was \"zero\""), printed);
        assertTrue(printed.contains("POOL_BIND must be 127.0.0.1"), printed);
        assertFalse(Files.exists(pidFile));
    }

    /**
     * {@code bin/procpoold start}, {@code status}, {@code stop}. The script normally computes its classpath with
     * Maven; here PROCPOOL_CLASSPATH hands it this JVM's classpath, because in a reactor build pool-core is not in
     * the local repository yet, and a nested Maven run would be slow.
     */
    @Test
    void binScriptStartsReportsStatusAndStops(@TempDir Path temp) throws Exception {
        Path script = Path.of(System.getProperty("basedir", System.getProperty("user.dir")), "bin", "procpoold");
        assumeTrue(Files.isExecutable(Path.of("/bin/bash")), "needs bash");
        assertTrue(Files.isExecutable(script), script + " is executable");
        int port = freePort();
        Path pidFile = temp.resolve("procpool.pid");
        Path log = temp.resolve("procpool.log");
        diagnostics.add(() -> {
            try {
                return log(log);
            } catch (IOException e) {
                return "log: " + e;
            }
        });
        Map<String, String> env = Map.of("POOL_PORT", String.valueOf(port), "POOL_SIZE", "1",
                "POOL_PID_FILE", pidFile.toString(), "POOL_LOG", log.toString(),
                "POOL_JVM_OPTIONS", JVM_OPTIONS, "PROCPOOL_CLASSPATH", System.getProperty("java.class.path"),
                "JAVA_HOME", System.getProperty("java.home"));

        Script start = runScript(script, env, temp, "start");
        assertEquals(0, start.status, start.output + log(log));
        assertTrue(start.output.contains("started (pid"), start.output);
        long daemonPid = Long.parseLong(Files.readString(pidFile).trim());
        spawned.add(daemonPid);

        Script status = runScript(script, env, temp, "status");
        assertEquals(0, status.status, status.output);
        assertTrue(status.output.startsWith("procpoold: running (pid " + daemonPid + ", http://127.0.0.1:" + port),
                status.output);
        JsonNode snapshot = json.readTree(status.output.substring(status.output.indexOf('{')));
        List<Long> workerPids = workerPids(snapshot);
        assertEquals(1, workerPids.size(), status.output);

        HttpResponse<String> task = post("http://127.0.0.1:" + port + "/tasks?wait=true",
                "{\"type\": \"echo\", \"payload\": \"via the script\"}");
        assertEquals(200, task.statusCode(), task.body());
        assertEquals("via the script", json.readTree(task.body()).get("result").asText());

        Script stop = runScript(script, env, temp, "stop");
        assertEquals(0, stop.status, stop.output + log(log));
        assertTrue(stop.output.contains("stopped"), stop.output);
        assertFalse(ProcessHandle.of(daemonPid).map(ProcessHandle::isAlive).orElse(false), "the daemon exited");
        assertFalse(Files.exists(pidFile), "the pid file is removed");
        awaitGone(workerPids);
        String logged = Files.readString(log);
        assertTrue(logged.contains("SIGTERM received") && logged.contains("procpool daemon stopped"), logged);

        Script after = runScript(script, env, temp, "status");
        assertEquals(3, after.status, after.output);
        assertTrue(after.output.contains("not running"), after.output);
    }

    // ------------------------------------------------------------------------------------------------ helpers

    private record Daemon(Process process, StringBuffer console, String url) {
        String output() {
            return console.toString();
        }
    }

    private record Script(int status, String output) {
    }

    private ProcessBuilder daemonCommand(Map<String, String> env) {
        ProcessBuilder builder = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), PoolDaemon.class.getName());
        builder.environment().keySet().removeIf(name -> name.startsWith("POOL_"));
        builder.environment().putAll(env);
        return builder;
    }

    private Daemon startDaemon(Map<String, String> env) throws IOException {
        Process process = daemonCommand(env).redirectErrorStream(true).start();
        spawned.add(process.pid());
        processes.record(process.pid());
        StringBuffer console = new StringBuffer();
        diagnostics.add(() -> "daemon output:\n" + console);
        Thread reader = new Thread(() -> {
            try (BufferedReader lines = new BufferedReader(
                    new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
                for (String line; (line = lines.readLine()) != null; ) {
                    console.append(line).append('\n');
                }
            } catch (IOException e) {
                console.append("[reader: ").append(e).append("]\n");
            }
        }, "daemon-output");
        reader.setDaemon(true);
        reader.start();
        await("the daemon to listen").atMost(START_TIMEOUT).pollInterval(Duration.ofMillis(50))
                .until(() -> READY.matcher(console).find() || !process.isAlive());
        Matcher ready = READY.matcher(console);
        assertTrue(ready.find(), "the daemon did not start:\n" + console);
        processes.recordTree(process.pid()); // its workers, ready by now
        return new Daemon(process, console, ready.group(1));
    }

    private Script runScript(Path script, Map<String, String> env, Path dir, String command) throws Exception {
        Path out = Files.createTempFile(dir, "script-" + command + "-", ".txt");
        ProcessBuilder builder = new ProcessBuilder(script.toString(), command).directory(dir.toFile())
                .redirectErrorStream(true).redirectOutput(out.toFile());
        builder.environment().keySet().removeIf(name -> name.startsWith("POOL_"));
        builder.environment().putAll(env);
        Process process = builder.start();
        if (!process.waitFor(START_TIMEOUT.toSeconds(), TimeUnit.SECONDS)) {
            process.destroyForcibly();
            throw new AssertionError("procpoold " + command + " did not finish:\n" + Files.readString(out));
        }
        return new Script(process.exitValue(), Files.readString(out));
    }

    private HttpResponse<String> post(String url, String body) {
        return send(HttpRequest.newBuilder(URI.create(url)).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body)));
    }

    private HttpResponse<String> get(String url) {
        return send(HttpRequest.newBuilder(URI.create(url)).GET());
    }

    private HttpResponse<String> send(HttpRequest.Builder request) {
        try {
            return http.send(request.timeout(Duration.ofSeconds(60)).build(), HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    private JsonNode awaitTask(String base, String id, String state) {
        JsonNode[] last = new JsonNode[1];
        await("task " + id + " " + state).atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(50))
                .until(() -> {
                    HttpResponse<String> response = get(base + "/tasks/" + id);
                    assertEquals(200, response.statusCode(), response.body());
                    last[0] = json.readTree(response.body());
                    return state.equals(last[0].get("state").asText());
                });
        return last[0];
    }

    private void assertBadRequest(String base, String body, String field) throws IOException {
        HttpResponse<String> response = post(base + "/tasks", body);
        assertEquals(400, response.statusCode(), body + " -> " + response.body());
        assertTrue(error(response).contains(field), body + " -> " + response.body());
    }

    private String error(HttpResponse<String> response) throws IOException {
        return json.readTree(response.body()).get("error").asText();
    }

    private List<Long> workerPids(JsonNode status) {
        List<Long> pids = new ArrayList<>();
        for (JsonNode worker : status.get("workers")) {
            long pid = worker.get("pid").asLong();
            assertTrue(pid > 0, status.toString());
            pids.add(pid);
        }
        spawned.addAll(pids);
        return pids;
    }

    private static void awaitGone(List<Long> pids) {
        await("no worker process left").atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(100))
                .until(() -> pids.stream().noneMatch(pid -> ProcessHandle.of(pid).map(ProcessHandle::isAlive)
                        .orElse(false)));
    }

    private static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
            return socket.getLocalPort();
        }
    }

    private static String log(Path log) throws IOException {
        return Files.exists(log) ? "\nlog:\n" + Files.readString(log) : "";
    }
}
