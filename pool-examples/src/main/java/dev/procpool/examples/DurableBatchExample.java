package dev.procpool.examples;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.procpool.BatchResult;
import dev.procpool.FailureReason;
import dev.procpool.TaskContext;
import dev.procpool.TaskHandler;
import dev.procpool.TaskInfo;
import dev.procpool.TaskRequest;
import dev.procpool.TaskStore;
import dev.procpool.WorkerPool;
import dev.procpool.WorkerSpec;

import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;

/**
 * A batch that is killed and restarted and finishes where it stopped. It processes files (counts lines and words,
 * hashes the content, writes one result file per input) in warm worker JVMs, with a task per file whose id is the
 * file's ({@code file-<n>}) and a SQLite task store in the batch's folder. Kill it at any moment, even with
 * {@code kill -9}, and run the same command again: tasks already done are not run again (submitting an id the
 * store knows is the same task), the queued ones run, and those the kill cut short run again, their cut attempt
 * recorded as {@code HOST_LOST}. At the end it prints, for every file, whether it was done in this run or an
 * earlier one and in how many attempts, and writes {@code summary.json}.
 *
 * <pre>
 * mvn -B -q -pl pool-examples exec:exec -Dexample.main=dev.procpool.examples.DurableBatchExample
 * </pre>
 *
 * <p>Arguments: {@code [DIR]} the batch's folder (default {@code target/durable-batch}: the input files are made
 * there on the first run, with {@code tasks.db}, {@code output/}, {@code journal.log} and {@code summary.json}),
 * {@code --files N} (200), {@code --workers N} (2), {@code --work-ms N} (time each file takes, 100), {@code --fresh}
 * (start over: delete the store and the results), {@code --jvm-options "FLAGS"}.
 *
 * <p>Execution is at least once: a file whose worker was cut off by the kill may have been processed already, and
 * is processed again. So the handler writes its result file atomically (a temporary file, then a rename), which
 * makes a second execution harmless; {@code journal.log} records every execution, and the summary counts them.
 */
public final class DurableBatchExample {
    /** The task type of {@link ProcessFileHandler}. */
    public static final String TASK_TYPE = "process-file";
    static final String USAGE = "usage: DurableBatchExample [DIR] [--files N] [--workers N] [--work-ms N] [--fresh] "
            + "[--jvm-options \"FLAGS\"]";
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private DurableBatchExample() {
    }

    public static void main(String[] args) throws Exception {
        System.exit(run(args, System.out));
    }

    /** Runs the batch, printing to {@code out}; returns 0 when every file was processed, 1 if some failed, 2 for bad arguments. */
    public static int run(String[] args, PrintStream out) throws IOException, InterruptedException {
        Options options;
        try {
            options = Options.parse(args);
        } catch (IllegalArgumentException e) {
            out.println("error: " + e.getMessage());
            out.println(USAGE);
            return 2;
        }
        Instant runStarted = Instant.now();
        Path dir = Files.createDirectories(options.directory());
        if (options.fresh()) {
            startOver(dir);
        }
        List<Path> inputs = makeInputs(dir.resolve("input"), options.files());
        Path outputs = Files.createDirectories(dir.resolve("output"));
        Path journal = dir.resolve("journal.log");
        Path storeFile = dir.resolve("tasks.db");
        out.println("Durable batch: " + inputs.size() + " files in " + dir + ", tasks in " + storeFile + " (pid "
                + ProcessHandle.current().pid() + "). Kill it at any time and run it again.");

        List<TaskRequest> requests = new ArrayList<>();
        for (int n = 0; n < inputs.size(); n++) {
            String id = "file-" + n; // stable: the same file is the same task in every run
            requests.add(TaskRequest.of(TASK_TYPE, new FileJob(inputs.get(n).toString(),
                    outputs.resolve(id + ".json").toString(), journal.toString(), options.workMillis())).withId(id));
        }

        try (WorkerPool pool = WorkerPool.builder()
                .name("durable-batch")
                .workers(options.workers())
                .worker(WorkerSpec.java(ProcessFileHandler.class).withExtraJvmOptions(options.jvmOptions()))
                .taskStore(TaskStore.sqlite(storeFile))
                .start()) {
            AtomicInteger done = new AtomicInteger();
            Thread progress = progressPrinter(out, done, requests.size());
            BatchResult batch;
            try {
                // One insert for the whole batch; ids the store knows already are those tasks, ended or not.
                batch = pool.submitAll(requests, (ended, failed, total) -> done.set(ended));
            } finally {
                progress.interrupt();
                progress.join();
            }
            out.printf("progress: %d/%d files done%n", batch.outcomes().size(), requests.size());

            Map<String, Integer> executions = executions(journal);
            List<FileSummary> files = new ArrayList<>();
            for (TaskRequest request : requests) {
                TaskInfo info = pool.task(request.id().orElseThrow()).orElseThrow();
                files.add(FileSummary.of(info, runStarted, executions.getOrDefault(info.id(), 0)));
            }
            Summary summary = Summary.of(files);
            print(out, files, summary);
            JSON.writeValue(dir.resolve("summary.json").toFile(), summary);
            return summary.succeeded() == files.size() ? 0 : 1;
        }
    }

    /** Prints "progress: done/total" twice a second while it changes. */
    private static Thread progressPrinter(PrintStream out, AtomicInteger done, int total) {
        Thread thread = new Thread(() -> {
            int printed = -1;
            try {
                while (true) {
                    int now = done.get();
                    if (now != printed) {
                        out.printf("progress: %d/%d files done%n", now, total);
                        out.flush();
                        printed = now;
                    }
                    Thread.sleep(500);
                }
            } catch (InterruptedException e) {
                // the batch ended
            }
        }, "durable-batch-progress");
        thread.setDaemon(true);
        thread.start();
        return thread;
    }

    private static void print(PrintStream out, List<FileSummary> files, Summary summary) {
        out.println();
        out.printf("%-12s %-10s %-15s %s%n", "task", "state", "done in", "attempts");
        for (FileSummary file : files) {
            String attempts = String.valueOf(file.attempts());
            if (!file.failedAttempts().isEmpty()) {
                attempts += " (" + String.join(", ", file.failedAttempts()) + ", then "
                        + (file.state().equals("SUCCEEDED") ? "done" : file.state()) + ")";
            }
            if (file.executions() > 1) {
                attempts += ", executed " + file.executions() + " times";
            }
            out.printf("%-12s %-10s %-15s %s%n", file.id(), file.state(),
                    file.thisRun() ? "this run" : "an earlier run", attempts);
        }
        out.println();
        out.printf("Batch done: %d of %d files SUCCEEDED; %d done in an earlier run, %d in this run; %d attempts "
                        + "cut short by a lost host (HOST_LOST) and run again; %d files executed more than once.%n",
                summary.succeeded(), summary.files(), summary.earlierRuns(), summary.thisRun(),
                summary.hostLostAttempts(), summary.executedAgain());
    }

    // ------------------------------------------------------------------------------------------------ files

    /** The input files {@code file-<n>.txt}, made on the first run (a few lines of words each). */
    private static List<Path> makeInputs(Path folder, int count) throws IOException {
        Files.createDirectories(folder);
        List<Path> files = new ArrayList<>();
        for (int n = 0; n < count; n++) {
            Path file = folder.resolve("file-" + n + ".txt");
            if (!Files.exists(file)) {
                StringBuilder text = new StringBuilder();
                for (int line = 0; line <= n % 7; line++) {
                    text.append("line ").append(line).append(" of file ").append(n).append(" says hello\n");
                }
                writeAtomically(file, text.toString());
            }
            files.add(file);
        }
        return files;
    }

    /** {@code --fresh}: forget the store and the results; the inputs stay. */
    private static void startOver(Path dir) throws IOException {
        for (String name : List.of("tasks.db", "tasks.db-wal", "tasks.db-shm", "journal.log", "summary.json")) {
            Files.deleteIfExists(dir.resolve(name));
        }
        Path outputs = dir.resolve("output");
        if (Files.isDirectory(outputs)) {
            try (Stream<Path> files = Files.list(outputs)) {
                for (Path file : files.toList()) {
                    Files.delete(file);
                }
            }
        }
    }

    /** How often each task was executed to its end, from the journal the handler appends to. */
    private static Map<String, Integer> executions(Path journal) throws IOException {
        Map<String, Integer> counts = new HashMap<>();
        if (Files.exists(journal)) {
            for (String line : Files.readAllLines(journal, StandardCharsets.UTF_8)) {
                String[] parts = line.split(" ");
                if (parts.length > 1) {
                    counts.merge(parts[0], 1, Integer::sum);
                }
            }
        }
        return counts;
    }

    static void writeAtomically(Path target, String content) throws IOException {
        Path temp = Files.createTempFile(target.getParent(), "." + target.getFileName(), ".tmp");
        try {
            Files.writeString(temp, content, StandardCharsets.UTF_8);
            Files.move(temp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } finally {
            Files.deleteIfExists(temp);
        }
    }

    // ------------------------------------------------------------------------------------------------ types

    /** A task's payload: which file, where its result goes, the journal, and how long the work takes. */
    public record FileJob(String input, String output, String journal, long workMillis) {
    }

    /** A task's result, also written to its output file. */
    public record FileResult(String input, long lines, long words, String sha256, long workerPid) {
    }

    /**
     * Runs in the worker JVMs: processes one file. Idempotent, since a task may run more than once (at least once):
     * the result file is replaced atomically, and the journal line is appended only once the result is in place.
     */
    public static final class ProcessFileHandler implements TaskHandler {
        @Override
        public Set<String> taskTypes() {
            return Set.of(TASK_TYPE);
        }

        @Override
        public Object handle(TaskContext context) throws Exception {
            FileJob job = context.payload(FileJob.class);
            byte[] content = Files.readAllBytes(Path.of(job.input()));
            String text = new String(content, StandardCharsets.UTF_8);
            long deadline = System.nanoTime() + job.workMillis() * 1_000_000L; // stands for real work
            while (System.nanoTime() < deadline && !context.isCancelled()) {
                Thread.sleep(Math.max(1, Math.min(20, (deadline - System.nanoTime()) / 1_000_000L)));
            }
            FileResult result = new FileResult(job.input(), text.lines().count(),
                    text.isBlank() ? 0 : text.trim().split("\\s+").length,
                    HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(content)),
                    ProcessHandle.current().pid());
            writeAtomically(Path.of(job.output()), JSON.writeValueAsString(result));
            String line = context.taskId() + " attempt " + context.attempt() + " worker " + result.workerPid() + "\n";
            try { // one small append: lines of concurrent workers do not interleave
                Files.writeString(Path.of(job.journal()), line, StandardCharsets.UTF_8, StandardOpenOption.CREATE,
                        StandardOpenOption.WRITE, StandardOpenOption.APPEND);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            return result;
        }
    }

    /** One file's account: its state, whether it was done in this run, its attempts and executions. */
    public record FileSummary(String id, String state, boolean thisRun, int attempts, List<String> failedAttempts,
                              int executions) {
        static FileSummary of(TaskInfo info, Instant runStarted, int executions) {
            boolean thisRun = info.endedAt() != null && !info.endedAt().isBefore(runStarted);
            return new FileSummary(info.id(), info.state().name(), thisRun, info.attempts(),
                    info.failedAttempts().stream().map(a -> a.reason().name()).toList(), executions);
        }
    }

    /** The batch's account, as {@code summary.json} holds it. */
    public record Summary(int files, int succeeded, int thisRun, int earlierRuns, int hostLostAttempts,
                          int executedAgain, List<FileSummary> tasks) {
        static Summary of(List<FileSummary> files) {
            int succeeded = 0;
            int thisRun = 0;
            int hostLost = 0;
            int again = 0;
            for (FileSummary file : files) {
                succeeded += file.state().equals("SUCCEEDED") ? 1 : 0;
                thisRun += file.thisRun() ? 1 : 0;
                hostLost += (int) file.failedAttempts().stream()
                        .filter(FailureReason.HOST_LOST.name()::equals).count();
                again += file.executions() > 1 ? 1 : 0;
            }
            return new Summary(files.size(), succeeded, thisRun, files.size() - thisRun, hostLost, again, files);
        }
    }

    /** The command line, checked. */
    record Options(Path directory, int files, int workers, long workMillis, boolean fresh, List<String> jvmOptions) {
        static Options parse(String[] args) {
            CommandLine line = CommandLine.parse(args, Set.of("--files", "--workers", "--work-ms", "--jvm-options"),
                    Set.of("--fresh"));
            if (line.positional().size() > 1) {
                throw new IllegalArgumentException("one folder at most, got " + line.positional());
            }
            Path directory = Path.of(line.positional().isEmpty() ? "target/durable-batch" : line.positional().get(0))
                    .toAbsolutePath().normalize();
            if (Files.exists(directory) && !Files.isDirectory(directory)) {
                throw new IllegalArgumentException("DIR must be a folder, was " + directory);
            }
            return new Options(directory, line.integer("--files", 200, 1, 100_000),
                    line.integer("--workers", 2, 1, 64), line.integer("--work-ms", 100, 0, 60_000),
                    line.has("--fresh"), line.jvmOptions("--jvm-options"));
        }
    }
}
