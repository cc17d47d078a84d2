package dev.procpool.examples;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.procpool.RemoteError;
import dev.procpool.TaskFailedException;
import dev.procpool.TaskHandle;
import dev.procpool.TaskRequest;
import dev.procpool.TaskResult;
import dev.procpool.WorkerPool;
import dev.procpool.WorkerSnapshot;
import dev.procpool.WorkerSpec;
import dev.procpool.examples.JavaSourceStatsHandler.FileStats;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The first example to run: fans every {@code *.java} file of a directory out to a pool of persistent Java workers
 * that parse it with the JDK compiler ({@link JavaSourceStatsHandler}), shows live progress, prints a summary,
 * writes {@code summary.json}, and finally compares the pool with starting one JVM per file.
 *
 * <pre>
 * BatchExample [DIR] [--workers N] [--out DIR] [--compare N] [--jvm-options "FLAGS"]
 *
 *   DIR            where to look for *.java files (default: this repository, the nearest ancestor of the
 *                  working directory that contains pool-core/)
 *   --workers N    worker processes (default 2)
 *   --out DIR      where to write summary.json (default: ./target if it exists, else a new temp directory)
 *   --compare N    also run the first N files with one JVM per file, for comparison (default 10; 0 disables)
 *   --jvm-options  extra options for the worker JVMs, e.g. "-Xmx256m -XX:TieredStopAtLevel=1"
 * </pre>
 *
 * <p>Run it from the repository root after {@code mvn install -DskipTests}:
 * {@code mvn -q -pl pool-examples exec:exec}, or with arguments:
 * {@code mvn -q -pl pool-examples exec:exec -Dexample.args="../pool-core --workers 4"} (exec:exec runs in
 * {@code pool-examples/}, so relative paths start there). Exit status: 0 when every file was processed, 1 when some
 * failed, 2 for bad arguments.
 */
public final class BatchExample {
    /** The most tasks this program keeps queued or running at once, so a huge tree never floods the pool's queue. */
    private static final int MAX_IN_FLIGHT = 1_000;

    private BatchExample() {
    }

    public static void main(String[] args) throws Exception {
        System.exit(run(args, System.out));
    }

    /** Runs the example, printing to {@code out}; returns the exit status. */
    public static int run(String[] args, PrintStream out) throws IOException, InterruptedException {
        Options options;
        try {
            options = Options.parse(args);
        } catch (IllegalArgumentException e) {
            out.println("error: " + e.getMessage());
            out.println("usage: BatchExample [DIR] [--workers N] [--out DIR] [--compare N] [--jvm-options \"FLAGS\"]");
            return 2;
        }
        List<Path> files = findJavaFiles(options.directory());
        out.printf("Found %d Java files under %s%n", files.size(), options.directory());
        if (files.isEmpty()) {
            return 0;
        }

        // Java workers run on this JVM's classpath; the default JVM options suit long-lived workers.
        WorkerSpec.Java workerSpec = WorkerSpec.java(JavaSourceStatsHandler.class)
                .withExtraJvmOptions(options.jvmOptions());

        long started = System.nanoTime();
        Batch batch;
        long startupMillis; // from starting the pool until every worker was ready
        long elapsedMillis; // from starting the pool to the last result
        try (WorkerPool pool = WorkerPool.builder()
                .name("batch")
                .workers(options.workers())
                .worker(workerSpec)
                .heartbeatInterval(Duration.ofMillis(250)) // heartbeats carry RSS: sample it often
                .start()) {
            startupMillis = millisSince(started);
            out.printf("Started %d workers in %d ms%n", options.workers(), startupMillis);
            batch = processAll(pool, files, out);
            elapsedMillis = millisSince(started);
        } // close(): waits for running tasks, then stops every worker process

        Summary summary = Summary.of(options, files.size(), batch, startupMillis, elapsedMillis);
        summary.print(out);

        Comparison comparison = null;
        if (options.compare() > 0) {
            List<Path> sample = files.subList(0, Math.min(options.compare(), files.size()));
            comparison = compareWithOneJvmPerFile(sample, workerSpec.jvmOptions(), options.workers(),
                    (double) elapsedMillis / files.size(), out);
        }

        Path json = options.outputDirectory().resolve("summary.json");
        new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT)
                .writeValue(json.toFile(), summary.withComparison(comparison));
        out.println("Summary written to " + json.toAbsolutePath());
        return summary.failed().isEmpty() && (comparison == null || comparison.failures() == 0) ? 0 : 1;
    }

    /**
     * Submits one task per file and collects the outcomes, while a background thread redraws the progress and
     * samples each worker's memory.
     */
    private static Batch processAll(WorkerPool pool, List<Path> files, PrintStream out) throws InterruptedException {
        // A console means a terminal here (on JDK 22 and later, ask System.console().isTerminal() instead).
        Progress progress = new Progress(files.size(), out, out == System.out && System.console() != null);
        Map<String, WorkerUsage> workers = new ConcurrentHashMap<>();
        ScheduledExecutorService ticker = Executors.newSingleThreadScheduledExecutor(daemon("batch-progress"));
        ticker.scheduleAtFixedRate(() -> {
            sampleWorkers(pool, workers);
            progress.print();
        }, 0, 200, TimeUnit.MILLISECONDS);

        // Submit everything, but keep at most MAX_IN_FLIGHT tasks in the pool at once (back-pressure).
        Semaphore inFlight = new Semaphore(MAX_IN_FLIGHT);
        List<TaskHandle> handles = new ArrayList<>(files.size());
        for (Path file : files) {
            inFlight.acquire();
            TaskHandle handle = pool.submitTask(TaskRequest.of(JavaSourceStatsHandler.TASK_TYPE, file.toString()));
            // Runs on the pool's I/O thread: keep it short and non-blocking.
            handle.future().whenComplete((result, error) -> {
                inFlight.release();
                progress.taskEnded(error == null);
            });
            handles.add(handle);
        }

        Batch batch = new Batch(new ArrayList<>(), new ArrayList<>(), workers);
        for (TaskHandle handle : handles) {
            try {
                TaskResult result = handle.join();
                batch.results().add(result.as(FileStats.class));
                workers.computeIfAbsent(result.workerId(), WorkerUsage::new)
                        .taskDone(result.workerPid(), result.runTime());
            } catch (TaskFailedException e) {
                // The worker's own message when it sent one (the handler's exception), else the pool's.
                String message = e.remoteError().map(RemoteError::message).orElse(e.getMessage());
                batch.failures().add(new Failure(String.valueOf(handle.request().payload()), e.reason().name(),
                        message));
            }
        }
        ticker.shutdown();
        ticker.awaitTermination(5, TimeUnit.SECONDS);
        sampleWorkers(pool, workers); // once more, now that every task has ended
        progress.finish();
        return batch;
    }

    /** Records each live worker's pid and the highest RSS seen so far. */
    private static void sampleWorkers(WorkerPool pool, Map<String, WorkerUsage> workers) {
        for (WorkerSnapshot snapshot : pool.workers()) {
            workers.computeIfAbsent(snapshot.id(), WorkerUsage::new).sample(snapshot.pid(), snapshot.rssBytes());
        }
    }

    /**
     * Runs {@link OneShot} in a fresh JVM for each file, {@code parallelism} at a time (as many as the pool had
     * workers, to compare like with like), and prints the time per file next to the pool's. The pool's time per
     * file includes starting its workers.
     */
    private static Comparison compareWithOneJvmPerFile(List<Path> files, List<String> jvmOptions, int parallelism,
                                                       double poolMillisPerFile, PrintStream out)
            throws InterruptedException {
        out.printf("%nComparison: the first %d file(s) again, one new JVM per file, %d at a time...%n",
                files.size(), parallelism);
        ExecutorService launcher = Executors.newFixedThreadPool(parallelism, daemon("batch-oneshot"));
        long started = System.nanoTime();
        List<Future<String>> outcomes = new ArrayList<>();
        for (Path file : files) {
            outcomes.add(launcher.submit(() -> runOneShot(file, jvmOptions)));
        }
        int failures = 0;
        for (int i = 0; i < outcomes.size(); i++) {
            try {
                String problem = outcomes.get(i).get();
                if (problem != null) {
                    failures++;
                    out.println("  one-shot JVM failed on " + files.get(i) + ": " + problem);
                }
            } catch (java.util.concurrent.ExecutionException e) {
                failures++;
                out.println("  could not launch a JVM for " + files.get(i) + ": " + e.getCause());
            }
        }
        launcher.shutdown();
        double oneShotMillisPerFile = (double) millisSince(started) / files.size();
        double speedup = oneShotMillisPerFile / poolMillisPerFile;
        out.printf(Locale.ROOT, "pool: %.1f ms/file vs one JVM per file: %.1f ms/file (%s)%n",
                poolMillisPerFile, oneShotMillisPerFile, speedup >= 1
                        ? String.format(Locale.ROOT, "%.1fx faster", speedup)
                        : String.format(Locale.ROOT, "%.1fx slower: too few files to repay starting the workers",
                                1 / speedup));
        return new Comparison(files.size(), parallelism, round1(poolMillisPerFile), round1(oneShotMillisPerFile),
                round1(speedup), failures);
    }

    /** Runs one {@code java ... OneShot FILE}; returns {@code null} on success, else what went wrong. */
    private static String runOneShot(Path file, List<String> jvmOptions) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.addAll(jvmOptions); // the same options as the workers, for a fair comparison
        command.addAll(List.of("-cp", System.getProperty("java.class.path"), OneShot.class.getName(),
                file.toString()));
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
        int status = process.waitFor();
        if (status == 0) {
            return null;
        }
        String lastLine = output.substring(output.lastIndexOf('\n') + 1);
        return "exit status " + status + (lastLine.isEmpty() ? "" : ": " + lastLine);
    }

    /** Every {@code *.java} file (or link to one) under {@code root}, sorted; hidden and target folders are skipped. */
    static List<Path> findJavaFiles(Path root) throws IOException {
        List<Path> files = new ArrayList<>();
        Files.walkFileTree(root, new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult preVisitDirectory(Path dir, BasicFileAttributes attributes) {
                String name = dir.getFileName() == null ? "" : dir.getFileName().toString();
                boolean skip = !dir.equals(root) && (name.startsWith(".") || name.equals("target"));
                return skip ? FileVisitResult.SKIP_SUBTREE : FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult visitFile(Path file, BasicFileAttributes attributes) {
                boolean fileOrLink = attributes.isRegularFile() || attributes.isSymbolicLink();
                if (fileOrLink && file.getFileName().toString().endsWith(".java")) {
                    files.add(file.toAbsolutePath().normalize());
                }
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult visitFileFailed(Path file, IOException e) {
                return FileVisitResult.CONTINUE; // an unreadable folder is not worth stopping for
            }
        });
        files.sort(null);
        return files;
    }

    private static long millisSince(long startNanos) {
        return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNanos);
    }

    private static double round1(double value) {
        return Math.round(value * 10) / 10.0;
    }

    private static java.util.concurrent.ThreadFactory daemon(String name) {
        return runnable -> {
            Thread thread = new Thread(runnable, name);
            thread.setDaemon(true);
            return thread;
        };
    }

    /** The command line, parsed and checked; {@code outDirectory} is {@code null} when not given. */
    record Options(Path directory, int workers, Path outDirectory, int compare, List<String> jvmOptions) {
        static Options parse(String[] args) {
            Path directory = null;
            Path out = null;
            int workers = 2;
            int compare = 10;
            List<String> jvmOptions = List.of();
            for (int i = 0; i < args.length; i++) {
                String arg = args[i];
                switch (arg) {
                    case "--workers" -> workers = positiveInt(arg, value(args, ++i, arg), 1);
                    case "--compare" -> compare = positiveInt(arg, value(args, ++i, arg), 0);
                    case "--out" -> out = Path.of(value(args, ++i, arg));
                    case "--jvm-options" -> jvmOptions = Arrays.stream(value(args, ++i, arg).trim().split("\\s+"))
                            .filter(option -> !option.isEmpty()).toList();
                    default -> {
                        if (arg.startsWith("--") || directory != null) {
                            throw new IllegalArgumentException("unexpected argument \"" + arg + "\"");
                        }
                        directory = Path.of(arg);
                    }
                }
            }
            directory = directory != null ? directory : repositoryRoot();
            if (!Files.isDirectory(directory)) {
                throw new IllegalArgumentException("not a directory: " + directory);
            }
            return new Options(directory.toAbsolutePath().normalize(), workers, out, compare, jvmOptions);
        }

        /** The {@code --out} folder (created if needed), else {@code ./target} if it exists, else a new temp folder. */
        Path outputDirectory() throws IOException {
            if (outDirectory != null) {
                return Files.createDirectories(outDirectory);
            }
            if (Files.isDirectory(Path.of("target"))) {
                return Path.of("target");
            }
            return Files.createTempDirectory("procpool-batch-"); // readable by its owner only
        }

        /** The nearest ancestor of the working directory that contains {@code pool-core/}. */
        private static Path repositoryRoot() {
            for (Path dir = Path.of("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
                if (Files.isDirectory(dir.resolve("pool-core"))) {
                    return dir;
                }
            }
            throw new IllegalArgumentException("no directory given, and no ancestor of the working directory "
                    + "contains pool-core/ (the procpool repository)");
        }

        private static String value(String[] args, int index, String flag) {
            if (index >= args.length) {
                throw new IllegalArgumentException(flag + " needs a value");
            }
            return args[index];
        }

        private static int positiveInt(String flag, String text, int min) {
            try {
                int value = Integer.parseInt(text);
                if (value >= min) {
                    return value;
                }
            } catch (NumberFormatException ignored) {
                // reported below
            }
            throw new IllegalArgumentException(flag + " must be a whole number of at least " + min + ", was \""
                    + text + "\"");
        }
    }

    /** What the tasks produced; the lists are filled by the main thread only. */
    private record Batch(List<FileStats> results, List<Failure> failures, Map<String, WorkerUsage> workers) {
    }

    /** One worker's share of the work: updated by the main thread and the sampling thread, hence synchronized. */
    private static final class WorkerUsage {
        private final String id;
        private long pid = -1;
        private int tasks;
        private Duration timeInTasks = Duration.ZERO;
        private long peakRssBytes;

        WorkerUsage(String id) {
            this.id = id;
        }

        synchronized void taskDone(long pid, Duration runTime) {
            this.pid = pid;
            tasks++;
            timeInTasks = timeInTasks.plus(runTime);
        }

        synchronized void sample(long pid, long rssBytes) {
            if (pid > 0) {
                this.pid = pid;
            }
            peakRssBytes = Math.max(peakRssBytes, rssBytes);
        }

        synchronized WorkerSummary summary() {
            return new WorkerSummary(id, pid, tasks, timeInTasks.toMillis(), peakRssBytes);
        }
    }

    /** A file whose task failed, and why. */
    record Failure(String file, String reason, String message) {
    }

    /** One worker's line in the summary; {@code peakRssBytes} is 0 when no sample arrived. */
    record WorkerSummary(String id, long pid, int tasks, long timeInTasksMillis, long peakRssBytes) {
    }

    /** The counts of all processed files added up. */
    record Totals(long lines, long classes, long interfaces, long records, long enums, long methods, long fields,
                  long lambdas, long problems) {
        static Totals of(List<FileStats> all) {
            return new Totals(all.stream().mapToLong(FileStats::lines).sum(),
                    all.stream().mapToLong(FileStats::classes).sum(),
                    all.stream().mapToLong(FileStats::interfaces).sum(),
                    all.stream().mapToLong(FileStats::records).sum(),
                    all.stream().mapToLong(FileStats::enums).sum(),
                    all.stream().mapToLong(FileStats::methods).sum(),
                    all.stream().mapToLong(FileStats::fields).sum(),
                    all.stream().mapToLong(FileStats::lambdas).sum(),
                    all.stream().mapToLong(FileStats::problems).sum());
        }
    }

    /** The one-JVM-per-file comparison. */
    record Comparison(int files, int parallelism, double poolMillisPerFile, double oneJvmPerFileMillisPerFile,
                      double speedup, int failures) {
    }

    /** Everything summary.json holds. */
    record Summary(String directory, int totalFiles, int processed, List<Failure> failed, long startupMillis,
                   long elapsedMillis, double filesPerSecond, double filesPerSecondAfterStartup, Totals totals,
                   List<FileStats> filesWithProblems, List<WorkerSummary> workers, int distinctWorkerPids,
                   double tasksPerWorkerProcess, List<FileStats> files, Comparison comparison) {

        /**
         * @param startupMillis from starting the pool until every worker was ready
         * @param elapsedMillis from starting the pool until the last result: {@code filesPerSecond} includes the
         *                      workers' start-up, {@code filesPerSecondAfterStartup} does not (the progress bar's rate)
         */
        static Summary of(Options options, int totalFiles, Batch batch, long startupMillis, long elapsedMillis) {
            List<WorkerSummary> workers = new ArrayList<>();
            new TreeMap<>(batch.workers()).values().forEach(usage -> workers.add(usage.summary()));
            int processed = batch.results().size();
            long pids = workers.stream().filter(w -> w.tasks() > 0).mapToLong(WorkerSummary::pid).distinct().count();
            List<FileStats> files = batch.results().stream().sorted(java.util.Comparator.comparing(FileStats::file))
                    .toList();
            return new Summary(options.directory().toString(), totalFiles, processed, List.copyOf(batch.failures()),
                    startupMillis, elapsedMillis, round1(1000.0 * totalFiles / Math.max(1, elapsedMillis)),
                    round1(1000.0 * totalFiles / Math.max(1, elapsedMillis - startupMillis)),
                    Totals.of(batch.results()),
                    batch.results().stream().filter(stats -> stats.problems() > 0).toList(),
                    workers, (int) pids, round1(pids == 0 ? 0 : (double) processed / pids), files, null);
        }

        Summary withComparison(Comparison comparison) {
            return new Summary(directory, totalFiles, processed, failed, startupMillis, elapsedMillis, filesPerSecond,
                    filesPerSecondAfterStartup, totals, filesWithProblems, workers, distinctWorkerPids,
                    tasksPerWorkerProcess, files, comparison);
        }

        void print(PrintStream out) {
            out.printf(Locale.ROOT, "%nProcessed %d of %d files in %.2f s, %d failed: %.1f files/s with the workers' "
                            + "start-up (%d ms), %.1f files/s once they were ready%n", processed, totalFiles,
                    elapsedMillis / 1000.0, failed.size(), filesPerSecond, startupMillis, filesPerSecondAfterStartup);
            out.printf("Totals: %,d lines, %,d classes, %,d interfaces, %,d records, %,d enums, %,d methods, "
                            + "%,d fields, %,d lambdas%n", totals.lines(), totals.classes(), totals.interfaces(),
                    totals.records(), totals.enums(), totals.methods(), totals.fields(), totals.lambdas());
            for (FileStats stats : filesWithProblems) {
                out.printf("Syntax problems: %s: %d, first: %s%n", stats.file(), stats.problems(),
                        stats.problemMessages().isEmpty() ? "?" : stats.problemMessages().get(0));
            }
            for (Failure failure : failed) {
                out.printf("Failed: %s: %s: %s%n", failure.file(), failure.reason(), failure.message());
            }
            out.printf("%-6s %8s %6s %14s %10s%n", "worker", "pid", "tasks", "time in tasks", "peak RSS");
            for (WorkerSummary w : workers) {
                out.printf("%-6s %8d %6d %11d ms %10s%n", w.id(), w.pid(), w.tasks(), w.timeInTasksMillis(),
                        w.peakRssBytes() == 0 ? "n/a" : (w.peakRssBytes() >> 20) + " MiB");
            }
            out.printf(Locale.ROOT, "Worker reuse: %.1f tasks per worker process (%d tasks, %d distinct pids)%n",
                    tasksPerWorkerProcess, processed, distinctWorkerPids);
        }
    }

    /**
     * Progress on the terminal: one line redrawn in place when there is a console, otherwise a plain line at every
     * tenth of the way. Counters are updated from the pool's I/O thread; printing happens on the ticker thread.
     */
    private static final class Progress {
        private static final int BAR_WIDTH = 30;
        private final int total;
        private final PrintStream out;
        private final boolean interactive;
        private final long startNanos = System.nanoTime();
        private final AtomicInteger succeeded = new AtomicInteger();
        private final AtomicInteger failed = new AtomicInteger();
        private int lastTenth;

        Progress(int total, PrintStream out, boolean interactive) {
            this.total = total;
            this.out = out;
            this.interactive = interactive;
        }

        void taskEnded(boolean success) {
            (success ? succeeded : failed).incrementAndGet();
        }

        synchronized void print() {
            int done = succeeded.get() + failed.get();
            if (interactive) {
                out.print("\r" + line(done));
                out.flush();
            } else if (done * 10 / total > lastTenth) {
                lastTenth = done * 10 / total;
                out.println(line(done));
            }
        }

        synchronized void finish() {
            print();
            if (interactive) {
                out.println();
            }
        }

        private String line(int done) {
            double seconds = Math.max(1e-3, (System.nanoTime() - startNanos) / 1e9);
            int filled = done * BAR_WIDTH / total;
            return String.format(Locale.ROOT, "[%s%s] %d/%d (%d%%), %d failed, %.0f files/s ",
                    "#".repeat(filled), ".".repeat(BAR_WIDTH - filled), done, total, done * 100 / total,
                    failed.get(), done / seconds);
        }
    }
}
