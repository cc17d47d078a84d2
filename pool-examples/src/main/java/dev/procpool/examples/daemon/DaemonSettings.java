package dev.procpool.examples.daemon;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.procpool.PoolConfig;
import dev.procpool.TaskHandler;
import dev.procpool.WorkerPool;
import dev.procpool.WorkerSpec;

import java.lang.reflect.Constructor;
import java.lang.reflect.Modifier;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Pattern;

/**
 * The daemon's settings, read from environment variables and validated all at once: every problem is reported,
 * each naming its variable and what it allows. A variable that is unset or blank takes its default.
 *
 * <table>
 *   <caption>Settings</caption>
 *   <tr><th>variable</th><th>default</th><th>meaning</th></tr>
 *   <tr><td>POOL_NAME</td><td>procpool</td><td>the pool's name (metrics tag {@code pool})</td></tr>
 *   <tr><td>POOL_SIZE</td><td>2</td><td>worker processes, 1 to 1024</td></tr>
 *   <tr><td>POOL_PORT</td><td>7878</td><td>HTTP port on 127.0.0.1; 0 picks a free one</td></tr>
 *   <tr><td>POOL_BIND</td><td>127.0.0.1</td><td>only 127.0.0.1 is accepted: the API has no authentication</td></tr>
 *   <tr><td>POOL_HANDLERS</td><td>{@link DemoHandler}</td><td>comma-separated TaskHandler classes</td></tr>
 *   <tr><td>POOL_COMMAND</td><td>-</td><td>a worker command as a JSON array of strings, instead of handlers</td></tr>
 *   <tr><td>POOL_JVM_OPTIONS</td><td>-</td><td>extra options for Java worker JVMs, separated by spaces</td></tr>
 *   <tr><td>POOL_QUEUE_CAPACITY</td><td>10000</td><td>tasks that may wait, 1 to 10000000</td></tr>
 *   <tr><td>POOL_PID_FILE</td><td>none</td><td>written on start, removed on exit (bin/procpoold always sets one)</td></tr>
 *   <tr><td>POOL_HEARTBEAT_MS</td><td>1000</td><td>worker heartbeat interval, 10 to 3600000</td></tr>
 *   <tr><td>POOL_SHUTDOWN_TIMEOUT_MS</td><td>20000</td><td>how long a graceful stop lets tasks finish</td></tr>
 *   <tr><td>POOL_REQUEST_TIMEOUT_MS</td><td>10000</td><td>how long a client may take to send a whole request</td></tr>
 *   <tr><td>POOL_STORE</td><td>in memory</td><td>where tasks are kept: {@code sqlite:PATH} or a path ending
 *       {@code .db} (tasks survive a restart), or {@code jdbc:postgresql://HOST[:PORT]/DATABASE} (several daemons
 *       with one POOL_NAME share the queue); see {@link StoreLocation}</td></tr>
 *   <tr><td>POOL_STORE_USER</td><td>-</td><td>the PostgreSQL user, unless the URL names one</td></tr>
 *   <tr><td>POOL_STORE_PASSWORD_FILE</td><td>-</td><td>a file (mode 600) with the PostgreSQL password; never in the
 *       URL</td></tr>
 *   <tr><td>POOL_STORE_LEASE_TIMEOUT_MS</td><td>30000</td><td>how long a daemon silent (killed, cut off) keeps its
 *       running tasks before another one takes them over; at least three heartbeat intervals</td></tr>
 * </table>
 *
 * @param name              the pool's name
 * @param size              the number of workers
 * @param port              the TCP port, 0 for any free one
 * @param handlers          TaskHandler class names (empty when {@code command} is set)
 * @param command           the worker command (empty when handlers are used)
 * @param jvmOptions        extra worker JVM options
 * @param queueCapacity     the pool's queue capacity
 * @param pidFile           the pid file, if any
 * @param heartbeatInterval the worker heartbeat interval
 * @param shutdownTimeout   how long a graceful stop waits for tasks
 * @param requestTimeout    how long a client may take to send a request (headers and body), whole seconds
 * @param store             where the tasks are kept
 * @param leaseTimeout      with a durable store, how long a claim on a running task lasts without renewal
 * @param warnings          problems that do not stop the daemon (unknown POOL_* variables)
 */
public record DaemonSettings(String name, int size, int port, List<String> handlers, List<String> command,
                             List<String> jvmOptions, int queueCapacity, Optional<Path> pidFile,
                             Duration heartbeatInterval, Duration shutdownTimeout, Duration requestTimeout,
                             StoreLocation store, Duration leaseTimeout, List<String> warnings) {

    /** The only address the daemon listens on. */
    public static final String LOOPBACK = "127.0.0.1";
    public static final int DEFAULT_PORT = 7878;
    public static final int DEFAULT_SIZE = 2;
    public static final int DEFAULT_QUEUE_CAPACITY = 10_000;
    public static final int DEFAULT_REQUEST_TIMEOUT_MS = 10_000;
    public static final int DEFAULT_LEASE_TIMEOUT_MS = 30_000;

    public static final String POOL_NAME = "POOL_NAME";
    public static final String POOL_SIZE = "POOL_SIZE";
    public static final String POOL_PORT = "POOL_PORT";
    public static final String POOL_BIND = "POOL_BIND";
    public static final String POOL_HANDLERS = "POOL_HANDLERS";
    public static final String POOL_COMMAND = "POOL_COMMAND";
    public static final String POOL_JVM_OPTIONS = "POOL_JVM_OPTIONS";
    public static final String POOL_QUEUE_CAPACITY = "POOL_QUEUE_CAPACITY";
    public static final String POOL_PID_FILE = "POOL_PID_FILE";
    public static final String POOL_HEARTBEAT_MS = "POOL_HEARTBEAT_MS";
    public static final String POOL_SHUTDOWN_TIMEOUT_MS = "POOL_SHUTDOWN_TIMEOUT_MS";
    public static final String POOL_REQUEST_TIMEOUT_MS = "POOL_REQUEST_TIMEOUT_MS";
    public static final String POOL_STORE = "POOL_STORE";
    public static final String POOL_STORE_USER = "POOL_STORE_USER";
    public static final String POOL_STORE_PASSWORD_FILE = "POOL_STORE_PASSWORD_FILE";
    public static final String POOL_STORE_LEASE_TIMEOUT_MS = "POOL_STORE_LEASE_TIMEOUT_MS";

    /** The variables the daemon reads. */
    public static final List<String> VARIABLES = List.of(POOL_NAME, POOL_SIZE, POOL_PORT, POOL_BIND, POOL_HANDLERS,
            POOL_COMMAND, POOL_JVM_OPTIONS, POOL_QUEUE_CAPACITY, POOL_PID_FILE, POOL_HEARTBEAT_MS,
            POOL_SHUTDOWN_TIMEOUT_MS, POOL_REQUEST_TIMEOUT_MS, POOL_STORE, POOL_STORE_USER, POOL_STORE_PASSWORD_FILE,
            POOL_STORE_LEASE_TIMEOUT_MS);

    /** POOL_* variables that bin/procpoold reads; the daemon ignores them without a warning. */
    private static final Set<String> SCRIPT_VARIABLES = Set.of("POOL_LOG", "POOL_START_WAIT", "POOL_STOP_WAIT",
            "POOL_CONF", "POOL_STATE_DIR");

    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_.-]{0,63}");
    private static final Pattern CLASS_NAME =
            Pattern.compile("\\p{javaJavaIdentifierStart}\\p{javaJavaIdentifierPart}*"
                    + "(\\.\\p{javaJavaIdentifierStart}\\p{javaJavaIdentifierPart}*)*");

    public DaemonSettings {
        Objects.requireNonNull(pidFile, "pidFile");
        Objects.requireNonNull(store, "store");
        Objects.requireNonNull(leaseTimeout, "leaseTimeout");
        handlers = List.copyOf(handlers);
        command = List.copyOf(command);
        jvmOptions = List.copyOf(jvmOptions);
        warnings = List.copyOf(warnings);
    }

    /** A bad setting; the message lists every problem found, one per line. */
    public static final class InvalidSettingsException extends IllegalArgumentException {
        private static final long serialVersionUID = 1L;
        private final List<String> problems;

        InvalidSettingsException(List<String> problems) {
            super(problems.size() == 1 ? problems.get(0)
                    : "invalid settings:\n  " + String.join("\n  ", problems));
            this.problems = List.copyOf(problems);
        }

        /** One message per bad variable. */
        public List<String> problems() {
            return problems;
        }
    }

    /**
     * Reads and validates the settings.
     *
     * @param env the environment, usually {@link System#getenv()}
     * @throws InvalidSettingsException naming every bad variable and what it allows
     */
    public static DaemonSettings fromEnvironment(Map<String, String> env) {
        Reader r = new Reader(env);

        String name = r.text(POOL_NAME, "procpool");
        if (!NAME.matcher(name).matches()) {
            r.problem(POOL_NAME, "1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit", name);
        }
        int size = r.integer(POOL_SIZE, DEFAULT_SIZE, 1, 1024);
        int port = r.integer(POOL_PORT, DEFAULT_PORT, 0, 65_535);
        String bind = r.text(POOL_BIND, LOOPBACK);
        if (!bind.equals(LOOPBACK)) {
            r.problem(POOL_BIND, LOOPBACK + " (the daemon has no authentication, so it listens on loopback only)",
                    bind);
        }
        int queueCapacity = r.integer(POOL_QUEUE_CAPACITY, DEFAULT_QUEUE_CAPACITY, 1, 10_000_000);
        int heartbeatMillis = r.integer(POOL_HEARTBEAT_MS, 1000, 10, 3_600_000);
        int shutdownMillis = r.integer(POOL_SHUTDOWN_TIMEOUT_MS, 20_000, 0, 3_600_000);
        int requestMillis = r.integer(POOL_REQUEST_TIMEOUT_MS, DEFAULT_REQUEST_TIMEOUT_MS, 1000, 600_000);

        Optional<Path> pidFile = Optional.empty();
        if (r.isSet(POOL_PID_FILE)) {
            String pidText = r.text(POOL_PID_FILE, "");
            try {
                pidFile = Optional.of(Path.of(pidText));
                if (pidFile.get().getFileName() == null) {
                    r.problem(POOL_PID_FILE, "a file path", pidText);
                }
            } catch (InvalidPathException e) {
                r.problem(POOL_PID_FILE, "a file path", pidText);
            }
        }

        boolean hasCommand = r.isSet(POOL_COMMAND);
        List<String> command = hasCommand ? r.command() : List.of();
        List<String> handlers = List.of();
        if (hasCommand && r.isSet(POOL_HANDLERS)) {
            r.problems.add("POOL_HANDLERS and POOL_COMMAND cannot both be set: Java handlers or a worker command, "
                    + "not both");
        } else if (!hasCommand) {
            handlers = r.handlers();
        }
        List<String> jvmOptions = List.of();
        if (r.isSet(POOL_JVM_OPTIONS)) {
            if (hasCommand) {
                r.problems.add("POOL_JVM_OPTIONS applies to Java workers only; unset it or POOL_COMMAND");
            } else {
                jvmOptions = Arrays.stream(r.text(POOL_JVM_OPTIONS, "").trim().split("\\s+"))
                        .filter(s -> !s.isEmpty()).toList();
                for (String option : jvmOptions) {
                    if (!option.startsWith("-")) {
                        r.problem(POOL_JVM_OPTIONS, "JVM options separated by spaces, each starting with '-'",
                                r.text(POOL_JVM_OPTIONS, ""));
                        break;
                    }
                }
            }
        }

        Optional<StoreLocation> storeRead = r.store();
        StoreLocation store = storeRead.orElse(StoreLocation.memory());
        int leaseMillis = DEFAULT_LEASE_TIMEOUT_MS;
        if (r.isSet(POOL_STORE_LEASE_TIMEOUT_MS)) {
            leaseMillis = r.integer(POOL_STORE_LEASE_TIMEOUT_MS, DEFAULT_LEASE_TIMEOUT_MS, 100, 3_600_000);
            if (storeRead.isPresent() && !store.isDurable()) {
                r.problems.add(POOL_STORE_LEASE_TIMEOUT_MS + " applies to a durable store only; set " + POOL_STORE
                        + " or unset it");
            }
        }
        // The pool renews its claims every heartbeat; a lease shorter than three of them would expire under a
        // host that is merely a little late.
        if (store.isDurable() && (long) leaseMillis < 3L * heartbeatMillis) {
            r.problems.add(POOL_STORE_LEASE_TIMEOUT_MS + " must be at least three heartbeat intervals ("
                    + POOL_HEARTBEAT_MS + " " + heartbeatMillis + ", so at least " + 3L * heartbeatMillis
                    + "), was " + leaseMillis + (r.isSet(POOL_STORE_LEASE_TIMEOUT_MS) ? "" : " (the default)"));
        }

        List<String> warnings = new ArrayList<>();
        for (String variable : new TreeSet<>(env.keySet())) {
            if (variable.startsWith("POOL_") && !VARIABLES.contains(variable)
                    && !SCRIPT_VARIABLES.contains(variable)) {
                warnings.add("ignoring unknown variable " + variable + "; the daemon reads " + VARIABLES);
            }
        }
        if (!r.problems.isEmpty()) {
            throw new InvalidSettingsException(r.problems);
        }
        return new DaemonSettings(name, size, port, handlers, command, jvmOptions, queueCapacity, pidFile,
                Duration.ofMillis(heartbeatMillis), Duration.ofMillis(shutdownMillis),
                Duration.ofSeconds((requestMillis + 999) / 1000), store, Duration.ofMillis(leaseMillis), warnings);
    }

    /** The worker launch spec these settings describe. */
    public WorkerSpec workerSpec() {
        return command.isEmpty()
                ? WorkerSpec.java(handlers).withExtraJvmOptions(jvmOptions)
                : WorkerSpec.command(command);
    }

    /** A pool builder with these settings; start it with {@link PoolConfig.Builder#start()}. */
    public PoolConfig.Builder poolBuilder() {
        // The heartbeat timeout must be at least twice the interval; keep the library's 10 s unless the interval is
        // long, then allow three missed beats.
        Duration heartbeatTimeout = Duration.ofSeconds(10);
        if (heartbeatTimeout.compareTo(heartbeatInterval.multipliedBy(3)) < 0) {
            heartbeatTimeout = heartbeatInterval.multipliedBy(3);
        }
        return WorkerPool.builder()
                .name(name)
                .workers(size)
                .worker(workerSpec())
                .queueCapacity(queueCapacity)
                .heartbeatInterval(heartbeatInterval)
                .heartbeatTimeout(heartbeatTimeout)
                .shutdownTimeout(shutdownTimeout)
                .taskStore(store.taskStore(name, leaseTimeout));
    }

    /** A help text listing the variables. */
    public static String help() {
        return """
                procpool daemon: runs a worker pool as a service on 127.0.0.1 with an HTTP/JSON API.
                It takes no arguments; settings come from environment variables:
                  POOL_NAME                 pool name (default procpool)
                  POOL_SIZE                 worker processes, 1 to 1024 (default 2)
                  POOL_PORT                 HTTP port, 0 to 65535; 0 picks a free port (default 7878)
                  POOL_BIND                 must be 127.0.0.1 (default): the API has no authentication
                  POOL_HANDLERS             comma-separated TaskHandler class names
                                            (default dev.procpool.examples.daemon.DemoHandler: echo, upper, sleep)
                  POOL_COMMAND              a worker command as a JSON array, e.g. ["python3","worker.py"],
                                            instead of POOL_HANDLERS
                  POOL_JVM_OPTIONS          extra worker JVM options separated by spaces, e.g. -Xmx256m
                  POOL_QUEUE_CAPACITY       tasks that may wait, 1 to 10000000 (default 10000)
                  POOL_PID_FILE             pid file, written on start and removed on exit (default: none;
                                            bin/procpoold keeps one in its state directory)
                  POOL_HEARTBEAT_MS         worker heartbeat interval, 10 to 3600000 (default 1000)
                  POOL_SHUTDOWN_TIMEOUT_MS  how long a graceful stop lets tasks finish, 0 to 3600000 (default 20000)
                  POOL_REQUEST_TIMEOUT_MS   how long a client may take to send a whole request, 1000 to 600000
                                            (default 10000); a connection still sending after that is closed
                  POOL_STORE                where tasks are kept (default: in memory, lost when the daemon stops):
                                            sqlite:PATH or PATH.db: a SQLite file; tasks survive a restart
                                            jdbc:postgresql://HOST[:PORT]/DATABASE[?user=NAME]: PostgreSQL;
                                            daemons with the same POOL_NAME share one queue
                  POOL_STORE_USER           the PostgreSQL user, unless the URL has one
                  POOL_STORE_PASSWORD_FILE  a file readable by you only (chmod 600) whose first line is the
                                            PostgreSQL password (never put it in the URL); or use ~/.pgpass
                  POOL_STORE_LEASE_TIMEOUT_MS  how long a silent daemon keeps its running tasks before another
                                            takes them over, 100 to 3600000, at least 3 heartbeats (default 30000)
                Endpoints: POST /tasks[?wait=true], GET|DELETE /tasks/{id}, GET /tasks/{id}/output, GET /status,
                GET /metrics, GET /deadletters, POST /shutdown.
                """;
    }

    /** Reads variables and collects problems. */
    private static final class Reader {
        private final Map<String, String> env;
        private final List<String> problems = new ArrayList<>();

        Reader(Map<String, String> env) {
            this.env = env;
        }

        boolean isSet(String variable) {
            String value = env.get(variable);
            return value != null && !value.isBlank();
        }

        String text(String variable, String fallback) {
            return isSet(variable) ? env.get(variable).trim() : fallback;
        }

        void problem(String variable, String allowed, String value) {
            problems.add(variable + " must be " + allowed + ", was \"" + value + "\"");
        }

        int integer(String variable, int fallback, int min, int max) {
            if (!isSet(variable)) {
                return fallback;
            }
            String text = env.get(variable).trim();
            try {
                int value = Integer.parseInt(text);
                if (value >= min && value <= max) {
                    return value;
                }
            } catch (NumberFormatException e) {
                // reported below
            }
            problem(variable, "an integer from " + min + " to " + max, text);
            return fallback;
        }

        /** POOL_STORE with its user and password file; empty, with the problem recorded, if it is bad. */
        Optional<StoreLocation> store() {
            try {
                return Optional.of(StoreLocation.parse(POOL_STORE, env.get(POOL_STORE),
                        isSet(POOL_STORE_USER) ? text(POOL_STORE_USER, "") : null, POOL_STORE_USER,
                        isSet(POOL_STORE_PASSWORD_FILE) ? text(POOL_STORE_PASSWORD_FILE, "") : null,
                        POOL_STORE_PASSWORD_FILE));
            } catch (IllegalArgumentException e) {
                problems.add(e.getMessage());
                return Optional.empty();
            }
        }

        List<String> command() {
            String text = env.get(POOL_COMMAND).trim();
            String allowed = "a JSON array of strings with the program first, e.g. [\"python3\",\"worker.py\"]";
            try {
                JsonNode node = new ObjectMapper().readTree(text);
                List<String> argv = new ArrayList<>();
                if (node != null && node.isArray() && !node.isEmpty()) {
                    for (JsonNode element : node) {
                        if (!element.isTextual()) {
                            argv = null;
                            break;
                        }
                        argv.add(element.textValue());
                    }
                    if (argv != null && !argv.get(0).isBlank()) {
                        return argv;
                    }
                }
            } catch (JsonProcessingException e) {
                // reported below
            }
            problem(POOL_COMMAND, allowed, text);
            return List.of();
        }

        List<String> handlers() {
            String text = text(POOL_HANDLERS, DemoHandler.class.getName());
            List<String> names = Arrays.stream(text.split(",")).map(String::trim).filter(s -> !s.isEmpty()).toList();
            if (names.isEmpty()) {
                problem(POOL_HANDLERS, "comma-separated TaskHandler class names", text);
                return List.of();
            }
            // Workers run on this JVM's classpath: a class the daemon cannot load, no worker can either.
            for (String className : names) {
                String trouble = checkHandler(className);
                if (trouble != null) {
                    problems.add("POOL_HANDLERS: " + trouble);
                }
            }
            return names;
        }

        private static String checkHandler(String className) {
            if (!CLASS_NAME.matcher(className).matches()) {
                return "\"" + className + "\" is not a Java class name";
            }
            Class<?> type;
            try {
                type = Class.forName(className, false, DaemonSettings.class.getClassLoader());
            } catch (ClassNotFoundException | LinkageError e) {
                return "class " + className + " is not on the classpath";
            }
            if (!TaskHandler.class.isAssignableFrom(type)) {
                return "class " + className + " does not implement " + TaskHandler.class.getName();
            }
            if (!Modifier.isPublic(type.getModifiers()) || Modifier.isAbstract(type.getModifiers())) {
                return "class " + className + " must be public and not abstract";
            }
            try {
                Constructor<?> constructor = type.getConstructor();
                if (!Modifier.isPublic(constructor.getModifiers())) {
                    return "class " + className + " needs a public no-argument constructor";
                }
            } catch (NoSuchMethodException e) {
                return "class " + className + " needs a public no-argument constructor";
            }
            return null;
        }
    }
}
