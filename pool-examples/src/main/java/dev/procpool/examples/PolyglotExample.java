package dev.procpool.examples;

import dev.procpool.TaskContext;
import dev.procpool.TaskFailedException;
import dev.procpool.TaskHandle;
import dev.procpool.TaskHandler;
import dev.procpool.TaskRejectedException;
import dev.procpool.TaskRequest;
import dev.procpool.TaskResult;
import dev.procpool.WorkerGroup;
import dev.procpool.WorkerPool;
import dev.procpool.WorkerSnapshot;
import dev.procpool.WorkerSpec;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;

/**
 * One pool, three languages: a group of Java workers, a group running the shipped Python worker and a group running
 * the shipped Node.js worker ({@code workers/python_worker.py} and {@code workers/node_worker.js} in this module's
 * resources, both written from PROTOCOL.md alone). Each group has its own capability ({@code java},
 * {@code python}, {@code node}); tasks that require one go to that group, and the output shows which language and
 * which process answered.
 *
 * <pre>mvn -q -pl pool-examples exec:exec -Dexample.main=dev.procpool.examples.PolyglotExample</pre>
 *
 * <p>Needs {@code python3} and {@code node} on the PATH. Optional: {@code --jvm-options "FLAGS"} adds options to the
 * worker JVMs. Exit status: 0 when every task came back as expected, 1 otherwise, 2 for bad arguments.
 */
public final class PolyglotExample {
    private PolyglotExample() {
    }

    public static void main(String[] args) throws Exception {
        System.exit(run(args, System.out));
    }

    /** Runs the example, printing to {@code out}; returns the exit status. */
    public static int run(String[] args, PrintStream out) throws IOException {
        List<String> jvmOptions;
        if (args.length == 0) {
            jvmOptions = List.of();
        } else if (args.length == 2 && args[0].equals("--jvm-options")) {
            jvmOptions = Arrays.stream(args[1].trim().split("\\s+")).filter(s -> !s.isEmpty()).toList();
        } else {
            out.println("usage: PolyglotExample [--jvm-options \"FLAGS\"]");
            return 2;
        }

        // The workers are scripts inside this jar: copy them to a directory only this user can read.
        Path scripts = Files.createTempDirectory("procpool-polyglot-",
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        try {
            Path python = extract("workers/python_worker.py", scripts);
            Path node = extract("workers/node_worker.js", scripts);
            return run(jvmOptions, python, node, out);
        } finally {
            deleteTree(scripts);
        }
    }

    private static int run(List<String> jvmOptions, Path python, Path node, PrintStream out) {
        try (WorkerPool pool = WorkerPool.builder()
                .name("polyglot")
                .group(WorkerGroup.builder("java", WorkerSpec.java(WordCountHandler.class)
                        .withExtraJvmOptions(jvmOptions)).workers(1).capabilities("java").build())
                .group(WorkerGroup.builder("python", WorkerSpec.command("python3", python.toString()))
                        .workers(1).capabilities("python").build())
                .group(WorkerGroup.builder("node", WorkerSpec.command("node", node.toString()))
                        .workers(1).capabilities("node").build())
                .start()) {

            out.println("Workers:");
            for (WorkerSnapshot worker : pool.workers()) {
                out.printf("  %-4s %-7s pid %d%n", worker.id(), worker.group(), worker.pid());
            }

            List<TaskRequest> requests = List.of(
                    TaskRequest.of("word-count", "one pool, three languages, no shared memory")
                            .withRequiredCapabilities("java"),
                    TaskRequest.of("upper", Map.of("text", "hello from python")).withRequiredCapabilities("python"),
                    TaskRequest.of("upper", Map.of("text", "hello from node")).withRequiredCapabilities("node"),
                    TaskRequest.of("add", Map.of("a", 40, "b", 2)).withRequiredCapabilities("python"),
                    TaskRequest.of("add", Map.of("a", 0.1, "b", 0.2)).withRequiredCapabilities("node"),
                    // No capability required: either script worker may take it.
                    TaskRequest.of("pid", null));
            // Submit them all first: the three groups work at the same time.
            List<TaskResult> results = requests.stream().map(pool::submitTask).toList().stream()
                    .map(TaskHandle::join).toList();

            int problems = 0;
            out.println("Tasks:");
            for (int i = 0; i < requests.size(); i++) {
                TaskRequest request = requests.get(i);
                TaskResult result = results.get(i);
                String language = pool.worker(result.workerId()).map(WorkerSnapshot::group).orElse("?");
                Object reportedPid = result.as(Map.class).get("pid");
                out.printf("  %-10s requires %-8s -> %-46s answered by %-6s (%s, pid %d)%n", request.type(),
                        request.requiredCapabilities().isEmpty() ? "nothing" : request.requiredCapabilities()
                                .iterator().next(),
                        result.json(), language, result.workerId(), result.workerPid());
                if (!request.requiredCapabilities().isEmpty() && !request.requiredCapabilities().contains(language)) {
                    out.println("    unexpected: routed to the " + language + " group");
                    problems++;
                }
                if (reportedPid != null && ((Number) reportedPid).longValue() != result.workerPid()) {
                    out.println("    unexpected: the worker reports pid " + reportedPid);
                    problems++;
                }
            }

            // Errors keep the remote language's own class names.
            for (String capability : List.of("python", "node")) {
                try {
                    pool.submitTask(TaskRequest.of("fail", Map.of("message", "no luck in " + capability))
                            .withRequiredCapabilities(capability)).join();
                    out.println("  unexpected: fail succeeded on " + capability);
                    problems++;
                } catch (TaskFailedException e) {
                    out.printf("  fail       requires %-8s -> %s, remote %s%n", capability, e.reason(),
                            e.remoteError().map(r -> r.className() + ": " + r.message()).orElse("-"));
                }
            }

            // Task types are routed too: no group serves word-count with the node capability.
            try {
                pool.submitTask(TaskRequest.of("word-count", "x").withRequiredCapabilities("node"));
                out.println("  unexpected: word-count was accepted for node");
                problems++;
            } catch (TaskRejectedException e) {
                out.println("  word-count requires node     -> rejected at once (" + e.kind() + ")");
            }
            return problems == 0 ? 0 : 1;
        } // close(): every worker, in every language, exits
    }

    /** Copies a classpath resource into {@code dir}, readable by this user only. */
    private static Path extract(String resource, Path dir) throws IOException {
        Path target = dir.resolve(Path.of(resource).getFileName().toString());
        try (InputStream in = PolyglotExample.class.getClassLoader().getResourceAsStream(resource)) {
            if (in == null) {
                throw new IOException("resource " + resource + " is not on the classpath");
            }
            Files.createFile(target, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
            Files.write(target, in.readAllBytes());
        }
        return target;
    }

    private static void deleteTree(Path dir) throws IOException {
        try (Stream<Path> paths = Files.walk(dir)) {
            for (Path path : paths.sorted((a, b) -> b.getNameCount() - a.getNameCount()).toList()) {
                Files.deleteIfExists(path);
            }
        }
    }

    /** Task type {@code word-count}: payload a text, result its number of words and this worker's pid. */
    public static final class WordCountHandler implements TaskHandler {
        @Override
        public Set<String> taskTypes() {
            return Set.of("word-count");
        }

        @Override
        public Object handle(TaskContext context) {
            String text = context.payload(String.class);
            String trimmed = text == null ? "" : text.trim();
            int words = trimmed.isEmpty() ? 0 : trimmed.split("\\s+").length;
            return Map.of("words", words, "pid", ProcessHandle.current().pid());
        }
    }
}
