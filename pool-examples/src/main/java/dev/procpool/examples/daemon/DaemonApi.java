package dev.procpool.examples.daemon;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpHandler;
import dev.procpool.DeadLetter;
import dev.procpool.DeadLetterQueue;
import dev.procpool.PoolSnapshot;
import dev.procpool.TaskHandle;
import dev.procpool.TaskInfo;
import dev.procpool.TaskRejectedException;
import dev.procpool.TaskRequest;
import dev.procpool.TaskStore;
import dev.procpool.WorkerPool;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * The daemon's HTTP/JSON API, one handler for every path (the JDK server matches contexts by string prefix, so
 * routing here keeps {@code /tasksX} from reaching {@code /tasks}). About 650 lines, on purpose: every endpoint
 * with its validation and answers in one file reads as the API's whole contract; the request text is parsed in
 * {@link HttpText}, and the JSON of tasks, dead letters and the store is shaped in {@link TaskViews}.
 *
 * <pre>
 * POST   /tasks[?wait=true[&amp;waitMs=N]]   {"type", "payload", "priority"?, "timeoutMs"?, "id"?}
 *                                         202 {"id", "state"}, or with wait=true 200 and the task (202 if it
 *                                         has not ended within waitMs, default 60000)
 * GET    /tasks/{id}                      the task: state, attempts, and its result or failure once it ended
 *                                         (with a durable store, any task of the store, from any daemon)
 * DELETE /tasks/{id}                      cancels it wherever it runs; 409 if it already ended
 * GET    /tasks/{id}/output[?lines=N]     the last lines the task wrote (tasks this daemon ran)
 * GET    /status                          the daemon, the task store, the pool snapshot and the workers
 * GET    /metrics                         Prometheus text format
 * GET    /deadletters[?limit=N]           the dead-letter queue, newest last
 * POST   /shutdown                        graceful stop
 * </pre>
 *
 * Errors are {@code {"error": "..."}} with 400 (bad input, naming the field), 403 (not from a local client),
 * 404, 405, 409 (duplicate id, already ended), 413 (body over 16 MiB or payload over the frame limit), 429 (queue
 * full) and 503 (shutting down, or the task store cannot be reached: nothing was stored, try again).
 *
 * <p>With a durable store ({@code POOL_STORE}) a task is in the store before {@code POST /tasks} answers, and a task
 * with an id is one task however often it is sent: sending it again answers with the same task (its state, or with
 * {@code wait=true} its outcome), never runs it a second time, so a client may retry a {@code POST} safely.
 *
 * <p>The API has no authentication: it listens on loopback only, and it refuses requests that carry an
 * {@code Origin} header or a {@code Host} other than a loopback name, so that a web page in a local browser cannot
 * drive it (cross-site requests and DNS rebinding).
 */
final class DaemonApi implements HttpHandler {
    private static final Logger LOG = LoggerFactory.getLogger(DaemonApi.class);

    /** The largest request body accepted. */
    static final int MAX_BODY_BYTES = 16 << 20;
    /** How many recent task handles are kept for {@code GET /tasks/{id}}. */
    static final int MAX_TRACKED_TASKS = 10_000;
    /** How many {@code wait=true} requests may wait at once. */
    static final int MAX_WAITERS = 256;
    static final long DEFAULT_WAIT_MS = 60_000;
    static final long MAX_WAIT_MS = 600_000;
    static final int DEFAULT_DEAD_LETTER_LIMIT = 100;

    private static final Set<String> TASK_FIELDS = Set.of("type", "payload", "priority", "timeoutMs", "id");
    private static final Set<String> LOOPBACK_HOSTS = Set.of("127.0.0.1", "localhost", "[::1]");
    private static final String JSON = "application/json; charset=utf-8";
    private static final String PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8";

    private final WorkerPool pool;
    private final PrometheusMeterRegistry registry;
    private final ExecutorService responders;
    private final Runnable stopRequest;
    private final String url;
    private final StoreLocation store;
    private final Instant startedAt = Instant.now();
    private final ObjectMapper mapper = JsonMapper.builder()
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .build();
    private final TaskViews views = new TaskViews(mapper);
    private final Semaphore waiters = new Semaphore(MAX_WAITERS);
    /** Recent handles, oldest first; the oldest is forgotten beyond {@link #MAX_TRACKED_TASKS}. */
    private final Map<String, TaskHandle> recent = new LinkedHashMap<>() {
        private static final long serialVersionUID = 1L;

        @Override
        protected boolean removeEldestEntry(Map.Entry<String, TaskHandle> eldest) {
            return size() > MAX_TRACKED_TASKS;
        }
    };
    private volatile boolean accepting = true;

    /**
     * @param responders  where the answers to {@code wait=true} requests are written (never a pool thread)
     * @param stopRequest asks the daemon to stop gracefully; returns at once
     * @param store       where the pool keeps its tasks, as {@code /status} shows it
     */
    DaemonApi(WorkerPool pool, PrometheusMeterRegistry registry, ExecutorService responders, Runnable stopRequest,
              String url, StoreLocation store) {
        this.pool = pool;
        this.registry = registry;
        this.responders = responders;
        this.stopRequest = stopRequest;
        this.url = url;
        this.store = store;
    }

    /** From now on {@code POST /tasks} answers 503; everything else still works while the pool drains. */
    void stopAccepting() {
        accepting = false;
    }

    /** Waits, bounded, until every {@code wait=true} request has been answered. */
    boolean awaitWaiters(Duration timeout) throws InterruptedException {
        if (waiters.tryAcquire(MAX_WAITERS, timeout.toMillis(), TimeUnit.MILLISECONDS)) {
            waiters.release(MAX_WAITERS);
            return true;
        }
        return false;
    }

    // ------------------------------------------------------------------------------------------------ routing

    @Override
    public void handle(HttpExchange exchange) {
        try {
            route(exchange);
        } catch (ApiException e) {
            send(exchange, e.status, error(e.getMessage()), e.headers);
        } catch (Exception | Error e) {
            // Whatever went wrong, answer: an exchange left open hangs its client until it times out.
            LOG.error("{} {} failed", exchange.getRequestMethod(), exchange.getRequestURI(), e);
            send(exchange, 500, error("internal error: " + e), Map.of());
            if (e instanceof VirtualMachineError) {
                throw (VirtualMachineError) e;
            }
        }
    }

    private void route(HttpExchange exchange) throws IOException {
        refuseNonLocalClients(exchange);
        String method = exchange.getRequestMethod();
        List<String> path = HttpText.pathSegments(exchange.getRequestURI().getRawPath());
        Map<String, String> query = HttpText.query(exchange.getRequestURI().getRawQuery());

        if (path.isEmpty()) {
            allow(method, "GET");
            onlyParameters(query);
            send(exchange, 200, index(), Map.of());
            return;
        }
        switch (path.get(0)) {
            case "tasks" -> {
                if (path.size() == 1) {
                    allow(method, "POST");
                    submit(exchange, query);
                } else if (path.size() == 2 && method.equals("DELETE")) {
                    onlyParameters(query);
                    cancel(exchange, path.get(1));
                } else if (path.size() == 2) {
                    allow(method, "GET", "DELETE");
                    onlyParameters(query);
                    send(exchange, 200, find(path.get(1)), Map.of());
                } else if (path.size() == 3 && path.get(2).equals("output")) {
                    allow(method, "GET");
                    output(exchange, path.get(1), query);
                } else {
                    throw notFound(exchange);
                }
            }
            case "status" -> {
                exact(exchange, path, method, "GET");
                onlyParameters(query);
                send(exchange, 200, status(), Map.of());
            }
            case "metrics" -> {
                exact(exchange, path, method, "GET");
                onlyParameters(query);
                sendText(exchange, registry.scrape());
            }
            case "deadletters" -> {
                exact(exchange, path, method, "GET");
                send(exchange, 200, deadLetters(query), Map.of());
            }
            case "shutdown" -> {
                exact(exchange, path, method, "POST");
                onlyParameters(query);
                stopAccepting(); // before answering, so a task sent after this answer is refused
                ObjectNode body = mapper.createObjectNode().put("status", "stopping")
                        .put("message", store.isDurable()
                                ? "no new tasks are accepted; running tasks finish and queued ones stay in the "
                                + "task store, then the workers and the daemon stop"
                                : "no new tasks are accepted; running and queued tasks finish, then the "
                                + "workers and the daemon stop");
                send(exchange, 202, body, Map.of());
                stopRequest.run();
            }
            default -> throw notFound(exchange);
        }
    }

    /** Refuses browsers (an Origin header) and DNS-rebound names (a Host that is not loopback). */
    private static void refuseNonLocalClients(HttpExchange exchange) {
        String origin = exchange.getRequestHeaders().getFirst("Origin");
        if (origin != null) {
            throw new ApiException(403, "requests from web pages (Origin: " + origin + ") are refused");
        }
        String host = exchange.getRequestHeaders().getFirst("Host");
        if (host != null) {
            String name = host.startsWith("[") ? host.substring(0, host.indexOf(']') + 1)
                    : host.contains(":") ? host.substring(0, host.lastIndexOf(':')) : host;
            if (!LOOPBACK_HOSTS.contains(name.toLowerCase(Locale.ROOT))) {
                throw new ApiException(403, "Host \"" + host + "\" is refused: use 127.0.0.1 or localhost");
            }
        }
    }

    private static void exact(HttpExchange exchange, List<String> path, String method, String allowed) {
        if (path.size() != 1) {
            throw notFound(exchange);
        }
        allow(method, allowed);
    }

    private static void allow(String method, String... allowed) {
        for (String m : allowed) {
            if (m.equals(method)) {
                return;
            }
        }
        throw new ApiException(405, "method " + method + " is not allowed here; use " + String.join(" or ", allowed),
                Map.of("Allow", String.join(", ", allowed)));
    }

    private static ApiException notFound(HttpExchange exchange) {
        return new ApiException(404, "no endpoint " + exchange.getRequestMethod() + " "
                + exchange.getRequestURI().getRawPath() + "; GET / lists them");
    }

    // ------------------------------------------------------------------------------------------------ tasks

    private void submit(HttpExchange exchange, Map<String, String> query) throws IOException {
        onlyParameters(query, "wait", "waitMs");
        boolean wait = bool(query, "wait");
        long waitMs = wait ? number(query, "waitMs", DEFAULT_WAIT_MS, 1, MAX_WAIT_MS) : 0;
        if (!wait && query.containsKey("waitMs")) {
            throw new ApiException(400, "waitMs needs wait=true");
        }
        TaskRequest request = taskRequest(readJson(exchange));
        if (!accepting) {
            throw new ApiException(503, "the daemon is shutting down and accepts no new tasks");
        }
        if (wait && !waiters.tryAcquire()) {
            throw new ApiException(429, "too many requests are waiting for results (" + MAX_WAITERS
                    + "); submit without wait=true and poll GET /tasks/{id}", Map.of("Retry-After", "1"));
        }
        TaskHandle handle;
        try {
            handle = pool.submitTask(request);
        } catch (TaskRejectedException e) {
            if (wait) {
                waiters.release();
            }
            throw rejected(e);
        } catch (RuntimeException e) {
            if (wait) {
                waiters.release();
            }
            throw e;
        }
        synchronized (recent) {
            recent.remove(handle.id()); // a reused id (its old task ended) moves to the end
            recent.put(handle.id(), handle);
        }
        Map<String, String> location = Map.of("Location", "/tasks/" + HttpText.encodePathSegment(handle.id()));
        if (!wait) {
            ObjectNode body = mapper.createObjectNode().put("id", handle.id()).put("state", handle.state().name());
            send(exchange, 202, body, location);
            return;
        }
        // Answer when the task ends, from a thread of our own: the future completes on a pool I/O thread, which
        // must never write to a socket. The view future's timeout does not touch the task.
        handle.future().orTimeout(waitMs, TimeUnit.MILLISECONDS).whenCompleteAsync((result, failure) -> {
            try {
                boolean timedOut = TaskViews.unwrap(failure) instanceof TimeoutException;
                send(exchange, timedOut ? 202 : 200, views.task(handle, known(handle.id())), location);
            } catch (Exception | Error e) {
                LOG.error("answering POST /tasks?wait=true for task {} failed", handle.id(), e);
                send(exchange, 500, error("internal error: " + e), Map.of());
            } finally {
                waiters.release();
            }
        }, responders);
    }

    private TaskRequest taskRequest(JsonNode body) {
        if (!body.isObject()) {
            throw new ApiException(400, "the request body must be a JSON object such as {\"type\": \"echo\", "
                    + "\"payload\": ...}, was " + body.getNodeType().toString().toLowerCase(Locale.ROOT));
        }
        for (var names = body.fieldNames(); names.hasNext(); ) {
            String name = names.next();
            if (!TASK_FIELDS.contains(name)) {
                throw new ApiException(400, "unknown field \"" + name + "\"; a task has type, payload, priority, "
                        + "timeoutMs and id");
            }
        }
        JsonNode type = body.get("type");
        if (type == null || !type.isTextual() || type.textValue().isBlank()) {
            throw new ApiException(400, "type is required: a non-blank string naming the task type"
                    + (type == null ? "" : ", was " + type));
        }
        TaskRequest request = TaskRequest.of(type.textValue(), body.get("payload"));
        JsonNode priority = body.get("priority");
        if (priority != null) {
            if (!priority.isIntegralNumber() || !priority.canConvertToInt()
                    || priority.intValue() < TaskRequest.HIGHEST_PRIORITY
                    || priority.intValue() > TaskRequest.LOWEST_PRIORITY) {
                throw new ApiException(400, "priority must be an integer from " + TaskRequest.HIGHEST_PRIORITY
                        + " (runs first) to " + TaskRequest.LOWEST_PRIORITY + ", was " + priority);
            }
            request = request.withPriority(priority.intValue());
        }
        JsonNode timeout = body.get("timeoutMs");
        if (timeout != null) {
            if (!timeout.isIntegralNumber() || !timeout.canConvertToInt() || timeout.intValue() < 1) {
                throw new ApiException(400, "timeoutMs must be an integer from 1 to " + Integer.MAX_VALUE
                        + " (milliseconds), was " + timeout);
            }
            request = request.withTimeout(Duration.ofMillis(timeout.intValue()));
        }
        JsonNode id = body.get("id");
        if (id != null) {
            if (!id.isTextual()) {
                throw new ApiException(400, "id must be a string, was " + id);
            }
            try {
                request = request.withId(id.textValue());
            } catch (IllegalArgumentException e) {
                throw new ApiException(400, e.getMessage()); // "id must be 1 to 200 printable ASCII ..."
            }
        }
        return request;
    }

    private static ApiException rejected(TaskRejectedException e) {
        return switch (e.kind()) {
            case SHUT_DOWN, WORKERS_CANNOT_START -> new ApiException(503, e.getMessage());
            // nothing was stored; the pool reconnects by itself, so the client may try again shortly
            case STORE_UNAVAILABLE -> new ApiException(503, e.getMessage(), Map.of("Retry-After", "1"));
            case QUEUE_FULL -> new ApiException(429, e.getMessage(), Map.of("Retry-After", "1"));
            case PAYLOAD_TOO_LARGE -> new ApiException(413, "payload: " + e.getMessage());
            case INVALID_PAYLOAD -> new ApiException(400, "payload: " + e.getMessage());
            case NO_CAPABLE_WORKER -> new ApiException(400, "type: " + e.getMessage());
            case DUPLICATE_ID -> new ApiException(409, "id: " + e.getMessage());
        };
    }

    private TaskHandle tracked(String id) {
        synchronized (recent) {
            return recent.get(id);
        }
    }

    /**
     * A task by id: from this daemon's handle if it has one, else from the pool, which with a durable store knows
     * every task of the store (submitted before a restart, or by another daemon of the pool), else from the
     * dead-letter queue.
     */
    private ObjectNode find(String id) {
        TaskHandle handle = tracked(id);
        if (handle != null) {
            return views.task(handle, known(id));
        }
        Optional<TaskInfo> info;
        try {
            info = pool.task(id);
        } catch (RuntimeException e) { // the store out of reach: the pool reconnects by itself
            throw new ApiException(503, "task \"" + id + "\" cannot be looked up now: " + e.getMessage(),
                    Map.of("Retry-After", "1"));
        }
        if (info.isPresent()) {
            return views.task(info.get());
        }
        DeadLetter letter = pool.deadLetters().get(id).orElse(null);
        if (letter != null) {
            ObjectNode node = mapper.createObjectNode().put("id", id).put("type", letter.taskType())
                    .put("priority", letter.priority()).put("state", "DEAD_LETTERED");
            node.set("deadLetter", views.deadLetter(letter));
            return node;
        }
        throw new ApiException(404, "no task \"" + id + "\" (" + whatIsRemembered() + ")");
    }

    /** Cancels a task wherever it is: with a durable store, the daemon of the pool that runs it stops it. */
    private void cancel(HttpExchange exchange, String id) {
        TaskHandle handle = tracked(id);
        if (handle == null) {
            Optional<TaskHandle> found;
            try {
                found = pool.handle(id);
            } catch (RuntimeException e) { // the store out of reach: the pool reconnects by itself
                throw new ApiException(503, "task \"" + id + "\" cannot be looked up now: " + e.getMessage(),
                        Map.of("Retry-After", "1"));
            }
            handle = found.orElseThrow(() -> new ApiException(404, "no task \"" + id + "\" ("
                    + whatIsRemembered() + ")"));
        }
        if (!handle.cancel()) {
            throw new ApiException(409, "task \"" + id + "\" has already ended: " + handle.state());
        }
        send(exchange, 200, views.task(handle, known(id)).put("cancelled", true), Map.of());
    }

    /**
     * What the pool knows of a task besides this daemon's handle; empty when the pool cannot tell now (closed while
     * the daemon stops, or its store out of reach): the handle's view is the answer then.
     */
    private Optional<TaskInfo> known(String id) {
        try {
            return pool.task(id);
        } catch (RuntimeException e) {
            LOG.debug("task {}: the pool cannot tell its state now: {}", id, e.toString());
            return Optional.empty();
        }
    }

    private String whatIsRemembered() {
        return store.isDurable()
                ? "the task store keeps ended tasks for " + retention() + ", and the dead-letter queue"
                : "the daemon remembers its last " + MAX_TRACKED_TASKS + " tasks, those that ended within "
                + pool.config().outputRetention().toMinutes() + " min, and the dead-letter queue";
    }

    private String retention() {
        return pool.config().taskStore() instanceof TaskStore.Durable durable
                ? durable.retention().toDays() + " days" : "a while";
    }

    private void output(HttpExchange exchange, String id, Map<String, String> query) {
        onlyParameters(query, "lines");
        int lines = (int) number(query, "lines", 200, 1, 100_000);
        List<String> output = pool.taskOutput(id, lines).orElseThrow(() -> new ApiException(404,
                "no output for task \"" + id + "\": unknown, nothing written yet, or expired (output is kept for "
                + pool.config().outputRetention().toMinutes() + " min after a task ends)"));
        ObjectNode body = mapper.createObjectNode().put("id", id);
        ArrayNode array = body.putArray("lines");
        output.forEach(array::add);
        send(exchange, 200, body, Map.of());
    }

    // ------------------------------------------------------------------------------------------------ status

    private ObjectNode status() {
        ObjectNode node = mapper.createObjectNode();
        int tracked;
        synchronized (recent) {
            tracked = recent.size();
        }
        node.putObject("daemon").put("pid", ProcessHandle.current().pid()).put("url", url)
                .put("acceptingTasks", accepting).put("startedAt", startedAt.toString())
                .put("uptimeMillis", Duration.between(startedAt, Instant.now()).toMillis())
                .put("trackedTasks", tracked);
        PoolSnapshot snapshot = pool.snapshot();
        node.set("store", views.store(snapshot.store(), store));
        node.set("metrics", mapper.valueToTree(snapshot));
        node.set("workers", mapper.valueToTree(pool.workers()));
        return node;
    }

    private ObjectNode deadLetters(Map<String, String> query) {
        onlyParameters(query, "limit");
        int limit = (int) number(query, "limit", DEFAULT_DEAD_LETTER_LIMIT, 1, 100_000);
        DeadLetterQueue queue = pool.deadLetters();
        List<DeadLetter> all = queue.list();
        ObjectNode node = mapper.createObjectNode().put("size", all.size()).put("capacity", queue.capacity())
                .put("added", queue.added()).put("evicted", queue.evicted());
        ArrayNode entries = node.putArray("entries");
        for (DeadLetter letter : all.subList(Math.max(0, all.size() - limit), all.size())) {
            entries.add(views.deadLetter(letter));
        }
        return node;
    }

    private ObjectNode index() {
        ObjectNode node = mapper.createObjectNode().put("service", "procpool daemon").put("pool", pool.name());
        ArrayNode endpoints = node.putArray("endpoints");
        for (String endpoint : List.of(
                "POST /tasks  {\"type\", \"payload\", \"priority\"?, \"timeoutMs\"?, \"id\"?}  [?wait=true&waitMs=N]",
                "GET /tasks/{id}", "DELETE /tasks/{id}", "GET /tasks/{id}/output?lines=N", "GET /status",
                "GET /metrics", "GET /deadletters?limit=N", "POST /shutdown")) {
            endpoints.add(endpoint);
        }
        return node;
    }

    // ------------------------------------------------------------------------------------------------ I/O

    private JsonNode readJson(HttpExchange exchange) throws IOException {
        String length = exchange.getRequestHeaders().getFirst("Content-Length");
        if (length != null) {
            try {
                if (Long.parseLong(length.trim()) > MAX_BODY_BYTES) {
                    throw tooLarge();
                }
            } catch (NumberFormatException e) {
                throw new ApiException(400, "Content-Length is not a number: " + length);
            }
        }
        byte[] body;
        // Not closed here: closing reads the rest of the body, which for a broken one blocks until the client hangs
        // up. The exchange is closed once the answer is out (send), which does the same then.
        InputStream in = exchange.getRequestBody();
        try {
            body = in.readNBytes(MAX_BODY_BYTES + 1);
        } catch (IOException e) {
            // A broken chunked encoding, or an upload the client stopped (the server closes it after the request
            // timeout): the client's doing, not ours, so one line and no stack trace. The answer may not arrive.
            LOG.warn("{} {} from {}: the request body could not be read ({}); answering 400",
                    exchange.getRequestMethod(), exchange.getRequestURI().getRawPath(),
                    exchange.getRemoteAddress(), HttpText.printable(e.getMessage()));
            // "Connection: close" makes the client hang up once it has the answer: closing the exchange reads what
            // is left of the broken body, which only the client's hang-up (or the request timeout) ends.
            throw new ApiException(400, "the request body could not be read: " + e.getMessage(),
                    Map.of("Connection", "close"));
        }
        if (body.length > MAX_BODY_BYTES) {
            throw tooLarge();
        }
        if (body.length == 0) {
            throw new ApiException(400, "the request body is empty; send a JSON object such as {\"type\": \"echo\", "
                    + "\"payload\": \"hi\"}");
        }
        try {
            return mapper.readTree(body);
        } catch (JacksonException e) {
            throw new ApiException(400, "the request body is not valid JSON: " + e.getOriginalMessage());
        }
    }

    private static ApiException tooLarge() {
        return new ApiException(413, "the request body is larger than " + MAX_BODY_BYTES + " bytes");
    }

    private void send(HttpExchange exchange, int status, JsonNode body, Map<String, String> headers) {
        try {
            byte[] bytes = mapper.writeValueAsBytes(body);
            headers.forEach((name, value) -> exchange.getResponseHeaders().set(name, value));
            write(exchange, status, JSON, bytes);
        } catch (IOException | RuntimeException e) { // the client went away, or headers were already sent
            LOG.debug("could not answer {} {}: {}", exchange.getRequestMethod(), exchange.getRequestURI(), e.toString());
        } finally {
            exchange.close();
        }
    }

    private static void sendText(HttpExchange exchange, String text) {
        try {
            write(exchange, 200, PROMETHEUS_TEXT, text.getBytes(StandardCharsets.UTF_8));
        } catch (IOException | RuntimeException e) {
            LOG.debug("could not answer {}: {}", exchange.getRequestURI(), e.toString());
        } finally {
            exchange.close();
        }
    }

    private static void write(HttpExchange exchange, int status, String contentType, byte[] bytes)
            throws IOException {
        exchange.getResponseHeaders().set("Content-Type", contentType);
        exchange.getResponseHeaders().set("Cache-Control", "no-store");
        exchange.getResponseHeaders().set("X-Content-Type-Options", "nosniff");
        exchange.sendResponseHeaders(status, bytes.length == 0 ? -1 : bytes.length);
        try (OutputStream out = exchange.getResponseBody()) {
            out.write(bytes);
            out.flush(); // before close(), which first reads the rest of the request body (see readJson)
        }
    }

    private ObjectNode error(String message) {
        return mapper.createObjectNode().put("error", message);
    }

    // ------------------------------------------------------------------------------------------------ parsing

    private static void onlyParameters(Map<String, String> query, String... allowed) {
        for (String name : query.keySet()) {
            if (!List.of(allowed).contains(name)) {
                throw new ApiException(400, "unknown query parameter " + name
                        + (allowed.length == 0 ? "; this endpoint takes none" : "; allowed: "
                        + String.join(", ", allowed)));
            }
        }
    }

    private static boolean bool(Map<String, String> query, String name) {
        String value = query.get(name);
        if (value == null || value.equals("false")) {
            return false;
        }
        if (value.equals("true") || value.isEmpty()) {
            return true;
        }
        throw new ApiException(400, "query parameter " + name + " must be true or false, was \"" + value + "\"");
    }

    private static long number(Map<String, String> query, String name, long fallback, long min, long max) {
        String value = query.get(name);
        if (value == null) {
            return fallback;
        }
        try {
            long n = Long.parseLong(value);
            if (n >= min && n <= max) {
                return n;
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new ApiException(400, "query parameter " + name + " must be an integer from " + min + " to " + max
                + ", was \"" + value + "\"");
    }

    /** An answer other than success: the status, the message for {@code {"error": ...}}, extra headers. */
    static final class ApiException extends IllegalArgumentException {
        private static final long serialVersionUID = 1L;
        final int status;
        final transient Map<String, String> headers;

        ApiException(int status, String message) {
            this(status, message, Map.of());
        }

        ApiException(int status, String message, Map<String, String> headers) {
            super(message);
            this.status = status;
            this.headers = headers;
        }
    }
}
