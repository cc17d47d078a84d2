package dev.procpool.examples.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;

import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * The peers that are not Java: jest-worker on Node.js and Python's {@code multiprocessing.Pool}, each run by a
 * driver program of ours ({@code bench/jest_worker_driver.js}, {@code bench/mp_pool_driver.py} among the
 * resources) that runs one workload and prints its figures as one JSON line.
 *
 * <p>{@link #prepare} finds {@code node}, {@code npm} and {@code python3} on the {@code PATH}, copies the drivers
 * into the run's temporary directory and installs the pinned jest-worker there with npm (scripts off). A peer
 * whose tools are missing, or whose install fails, is absent: its columns say why, and the harness runs on.
 * Drivers run with a minimal environment; their output is bounded, and their error text is escaped before it is
 * printed.
 */
final class ExternalPeers {
    /** One peer: how to run its driver, or why it cannot run. */
    record Peer(String system, List<String> command, String version, String absentWhy) {
        boolean present() {
            return absentWhy == null;
        }
    }

    /** What one driver run gave: its JSON answer, or why there is none; and the processes it started. */
    record Outcome(JsonNode answer, String failure, List<long[]> processes) {
    }

    private static final int MAX_OUTPUT_BYTES = 4 << 20;
    private static final int ERROR_TAIL_CHARS = 2_000;
    private static final ObjectMapper MAPPER = JsonMapper.builder().build();

    private final Map<String, Peer> peers = new LinkedHashMap<>();
    private final Path directory;

    private ExternalPeers(Path directory) {
        this.directory = directory;
    }

    /** Finds the tools and installs jest-worker; never throws: a peer that cannot run is marked absent. */
    static ExternalPeers prepare(Path tempDir, boolean wantJest, boolean wantPython, String jestVersion,
                                 Duration installTimeout) {
        ExternalPeers external = new ExternalPeers(tempDir.resolve("peers"));
        try {
            Files.createDirectories(external.directory);
            for (String resource : List.of("jest_worker_driver.js", "jest_worker_tasks.js", "mp_pool_driver.py")) {
                try (InputStream in = ExternalPeers.class.getResourceAsStream("/bench/" + resource)) {
                    if (in == null) {
                        throw new IOException("resource bench/" + resource + " is missing from the classpath");
                    }
                    Files.copy(in, external.directory.resolve(resource));
                }
            }
        } catch (IOException e) {
            String why = "cannot lay out the drivers: " + e.getMessage();
            external.peers.put(PeerSystem.JEST, new Peer(PeerSystem.JEST, List.of(), null, why));
            external.peers.put(PeerSystem.PYTHON, new Peer(PeerSystem.PYTHON, List.of(), null, why));
            return external;
        }
        if (wantJest) {
            external.peers.put(PeerSystem.JEST, external.jest(jestVersion, installTimeout));
        }
        if (wantPython) {
            external.peers.put(PeerSystem.PYTHON, external.python());
        }
        return external;
    }

    Optional<Peer> peer(String system) {
        return Optional.ofNullable(peers.get(system));
    }

    Map<String, Peer> peers() {
        return peers;
    }

    private Peer jest(String version, Duration installTimeout) {
        Optional<Path> node = onPath("node");
        Optional<Path> npm = onPath("npm");
        if (node.isEmpty() || npm.isEmpty()) {
            return new Peer(PeerSystem.JEST, List.of(), null, "absent: " + (node.isEmpty() ? "node" : "npm")
                    + " is not on the PATH");
        }
        try {
            String nodeBin = run(List.of(node.get().toString(), "-p", "process.execPath"), Duration.ofSeconds(30),
                    false).trim();
            Files.writeString(directory.resolve("package.json"),
                    "{\"name\": \"procpool-bench-peers\", \"private\": true}\n");
            // npm needs the host's environment (registry settings, certificates); nothing it fetches runs scripts
            run(List.of(npm.get().toString(), "install", "--no-audit", "--no-fund", "--ignore-scripts",
                    "--no-package-lock", "--loglevel=error", "jest-worker@" + version), installTimeout, true);
            return new Peer(PeerSystem.JEST, List.of(nodeBin, directory.resolve("jest_worker_driver.js").toString()),
                    "jest-worker " + version, null);
        } catch (IOException e) {
            return new Peer(PeerSystem.JEST, List.of(), null, "absent: npm install jest-worker@" + version
                    + " failed: " + printable(e.getMessage(), 300));
        }
    }

    private Peer python() {
        Optional<Path> python = onPath("python3");
        if (python.isEmpty()) {
            return new Peer(PeerSystem.PYTHON, List.of(), null, "absent: python3 is not on the PATH");
        }
        try {
            // the interpreter itself, not a shim that needs the caller's environment
            String executable = run(List.of(python.get().toString(), "-c", "import sys; print(sys.executable)"),
                    Duration.ofSeconds(30), true).trim();
            return new Peer(PeerSystem.PYTHON, List.of(executable, directory.resolve("mp_pool_driver.py").toString()),
                    "multiprocessing", null);
        } catch (IOException e) {
            return new Peer(PeerSystem.PYTHON, List.of(), null, "absent: python3 does not run: "
                    + printable(e.getMessage(), 300));
        }
    }

    /**
     * Runs a peer's driver on one workload. A driver that fails, prints no JSON or outlives {@code timeout} (its
     * whole process tree is then killed) gives a failure text instead of an answer.
     */
    Outcome run(Peer peer, Map<String, Object> params, Duration timeout) throws InterruptedException {
        List<String> command = new ArrayList<>(peer.command());
        try {
            command.add(MAPPER.writeValueAsString(params));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        ProcessBuilder builder = new ProcessBuilder(command).directory(directory.toFile());
        minimalEnvironment(builder.environment());
        Process process;
        try {
            process = builder.start();
        } catch (IOException e) {
            return new Outcome(null, "failed: cannot start " + peer.command().get(0) + ": " + e.getMessage(),
                    List.of());
        }
        CompletableFuture<byte[]> stdout = drain(process.getInputStream(), MAX_OUTPUT_BYTES);
        CompletableFuture<byte[]> stderr = drain(process.getErrorStream(), MAX_OUTPUT_BYTES);
        List<long[]> tree = new ArrayList<>();
        if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
            // its workers first, while they are still its descendants (an orphan would be reparented to init)
            process.descendants().forEach(p -> {
                tree.add(new long[] {p.pid(), Procs.startTicks(p.pid())});
                p.destroyForcibly();
            });
            process.destroyForcibly();
            process.waitFor(10, TimeUnit.SECONDS);
            return new Outcome(null, "failed: no answer within " + timeout.toSeconds() + " s", tree);
        }
        String out = new String(stdout.join(), StandardCharsets.UTF_8).trim();
        String err = new String(stderr.join(), StandardCharsets.UTF_8);
        String last = out.isEmpty() ? "" : out.substring(out.lastIndexOf('\n') + 1);
        JsonNode answer;
        try {
            answer = MAPPER.readTree(last);
        } catch (IOException e) {
            answer = null;
        }
        List<long[]> processes = new ArrayList<>();
        if (answer != null && answer.path("processes").isArray()) {
            for (JsonNode p : answer.get("processes")) {
                processes.add(new long[] {p.path(0).asLong(), p.path(1).asLong()});
            }
        }
        if (answer == null || !answer.isObject() || answer.has("error") || process.exitValue() != 0) {
            String why = answer != null && answer.has("error") ? answer.get("error").asText() : out + "\n" + err;
            return new Outcome(null, "failed (exit " + process.exitValue() + "): " + printable(tail(why), 600),
                    processes);
        }
        return new Outcome(answer, null, processes);
    }

    /** The variables a driver gets: enough to run, nothing of the host's settings. */
    private static void minimalEnvironment(Map<String, String> environment) {
        Map<String, String> kept = new LinkedHashMap<>();
        for (String name : List.of("PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR")) {
            String value = System.getenv(name);
            if (value != null) {
                kept.put(name, value);
            }
        }
        environment.clear();
        environment.putAll(kept);
    }

    /** Runs a tool to its end; returns its stdout, or throws with the end of its output. */
    private String run(List<String> command, Duration timeout, boolean inheritEnvironment) throws IOException {
        ProcessBuilder builder = new ProcessBuilder(command).directory(directory.toFile()).redirectErrorStream(true);
        if (!inheritEnvironment) {
            minimalEnvironment(builder.environment());
        }
        Process process = builder.start();
        CompletableFuture<byte[]> output = drain(process.getInputStream(), MAX_OUTPUT_BYTES);
        try {
            if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                process.descendants().forEach(ProcessHandle::destroyForcibly);
                process.destroyForcibly();
                throw new IOException(command.get(0) + " took longer than " + timeout.toSeconds() + " s");
            }
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new IOException("interrupted");
        }
        String text = new String(output.join(), StandardCharsets.UTF_8);
        if (process.exitValue() != 0) {
            throw new IOException("exit " + process.exitValue() + ": " + tail(text));
        }
        return text;
    }

    private static CompletableFuture<byte[]> drain(InputStream in, int limit) {
        CompletableFuture<byte[]> done = new CompletableFuture<>();
        Thread thread = new Thread(() -> {
            ByteArrayOutputStream kept = new ByteArrayOutputStream();
            byte[] buffer = new byte[8192];
            try (in) {
                int n;
                while ((n = in.read(buffer)) > 0) {
                    kept.write(buffer, 0, Math.max(0, Math.min(n, limit - kept.size())));
                }
            } catch (IOException e) {
                // the process is gone; keep what came
            }
            done.complete(kept.toByteArray());
        }, "bench-drain");
        thread.setDaemon(true);
        thread.start();
        return done;
    }

    private static Optional<Path> onPath(String program) {
        String path = System.getenv("PATH");
        if (path == null) {
            return Optional.empty();
        }
        for (String dir : path.split(File.pathSeparator)) {
            Path candidate = Path.of(dir.isEmpty() ? "." : dir, program);
            if (Files.isRegularFile(candidate) && Files.isExecutable(candidate)) {
                return Optional.of(candidate.toAbsolutePath());
            }
        }
        return Optional.empty();
    }

    private static String tail(String text) {
        String trimmed = text.strip();
        return trimmed.length() <= ERROR_TAIL_CHARS ? trimmed : "…" + trimmed.substring(trimmed.length()
                - ERROR_TAIL_CHARS);
    }

    /**
     * Text from another program, safe to print: control characters (escape sequences among them) shown as
     * {@code \\uXXXX}, line ends as " | ", at most {@code max} characters.
     */
    static String printable(String text, int max) {
        if (text == null) {
            return "";
        }
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < text.length() && b.length() < max; i++) {
            char c = text.charAt(i);
            if (c == '\n') {
                b.append(" | ");
            } else if (c < 0x20 || (c >= 0x7f && c < 0xa0) || c == '\u2028' || c == '\u2029') {
                b.append(String.format("\\u%04x", (int) c));
            } else {
                b.append(c);
            }
        }
        return b.length() >= max ? b.substring(0, max) + "…" : b.toString();
    }
}
