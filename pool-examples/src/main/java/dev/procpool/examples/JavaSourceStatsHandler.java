package dev.procpool.examples;

import com.sun.source.tree.ClassTree;
import com.sun.source.tree.CompilationUnitTree;
import com.sun.source.tree.LambdaExpressionTree;
import com.sun.source.tree.MethodTree;
import com.sun.source.tree.Tree;
import com.sun.source.util.JavacTask;
import com.sun.source.util.TreeScanner;
import dev.procpool.NonRetryableException;
import dev.procpool.TaskContext;
import dev.procpool.TaskHandler;

import javax.tools.Diagnostic;
import javax.tools.DiagnosticCollector;
import javax.tools.JavaCompiler;
import javax.tools.JavaFileObject;
import javax.tools.SimpleJavaFileObject;
import javax.tools.StandardJavaFileManager;
import javax.tools.ToolProvider;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;

/**
 * A worker-side handler for task type {@value #TASK_TYPE}: parses one Java source file with the JDK's compiler and
 * returns {@link FileStats} about it. The payload is the file's absolute path as a JSON string.
 *
 * <p>This is the kind of work persistent workers are for: the compiler is loaded and JIT-compiled once per worker
 * and then reused for every file, so after the first few tasks a file costs milliseconds instead of the
 * half-second a fresh JVM needs to load javac. Only {@link JavacTask#parse()} runs, never a full compile, so the
 * reported problems are syntax errors.
 *
 * <p>The worker runtime creates one instance per worker with the public no-argument constructor. The compiler's
 * file manager is not thread-safe, so parsing is synchronized (workers run one task at a time by
 * default, so the lock is never contended).
 */
public final class JavaSourceStatsHandler implements TaskHandler {
    /** The task type this handler serves. */
    public static final String TASK_TYPE = "java-stats";

    /** How many diagnostic messages a result carries at most; the count is always exact. */
    private static final int MAX_PROBLEM_MESSAGES = 5;

    // Warm state, kept for the worker's whole life.
    private final JavaCompiler compiler;
    private final StandardJavaFileManager fileManager;

    /** Loads the JDK compiler; fails (and the worker with it) when the JVM is a JRE without one. */
    public JavaSourceStatsHandler() {
        compiler = ToolProvider.getSystemJavaCompiler();
        if (compiler == null) {
            throw new IllegalStateException("no Java compiler in " + System.getProperty("java.home")
                    + "; run the workers on a JDK, not a JRE");
        }
        fileManager = compiler.getStandardFileManager(null, null, StandardCharsets.UTF_8);
        // Parse a tiny file once, so that javac's classes are loaded before the worker reports ready, not
        // during its first task.
        try {
            analyze(Path.of("Warmup.java"), "class Warmup { Runnable r = () -> { }; }");
        } catch (IOException e) {
            throw new UncheckedIOException(e); // cannot happen: the source is in memory
        }
    }

    @Override
    public Set<String> taskTypes() {
        return Set.of(TASK_TYPE);
    }

    @Override
    public Object handle(TaskContext context) throws IOException {
        return stats(Path.of(context.payload(String.class)));
    }

    /**
     * Parses one file and counts what it declares.
     *
     * @throws NonRetryableException if the file cannot be read (another attempt would not help)
     */
    public FileStats stats(Path file) throws IOException {
        String source;
        try {
            // Decoded leniently: a stray non-UTF-8 byte should not make the whole file unreadable.
            source = new String(Files.readAllBytes(file), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new NonRetryableException("cannot read " + file + ": " + e, e);
        }
        return analyze(file, source);
    }

    private synchronized FileStats analyze(Path file, String source) throws IOException {
        DiagnosticCollector<JavaFileObject> diagnostics = new DiagnosticCollector<>();
        JavacTask task = (JavacTask) compiler.getTask(null, fileManager, diagnostics,
                List.of("-proc:none"), null, List.of(new SourceText(file, source)));
        Counter counter = new Counter();
        for (CompilationUnitTree unit : task.parse()) { // parse only: no symbol resolution, no class files
            counter.scan(unit, null);
        }

        List<Diagnostic<? extends JavaFileObject>> problems = diagnostics.getDiagnostics();
        List<String> messages = problems.stream()
                .limit(MAX_PROBLEM_MESSAGES)
                .map(d -> "line " + d.getLineNumber() + ": " + d.getMessage(null))
                .toList();
        return new FileStats(file.toString(), lineCount(source), counter.classes, counter.interfaces,
                counter.records, counter.enums, counter.methods, counter.fields, counter.lambdas,
                problems.size(), messages, ProcessHandle.current().pid());
    }

    private static long lineCount(String text) {
        if (text.isEmpty()) {
            return 0;
        }
        long newlines = text.chars().filter(c -> c == '\n').count();
        return text.endsWith("\n") ? newlines : newlines + 1;
    }

    /**
     * What one file contains. This is the task's result: the worker writes it as JSON, the host reads it back with
     * {@code result.as(FileStats.class)}.
     *
     * @param file            the file's path
     * @param lines           its number of lines
     * @param classes         class declarations, nested and local ones included
     * @param interfaces      interface declarations, annotation types included
     * @param records         record declarations
     * @param enums           enum declarations
     * @param methods         methods and constructors
     * @param fields          fields (enum constants and record components included)
     * @param lambdas         lambda expressions
     * @param problems        syntax problems the parser reported
     * @param problemMessages the first few of those problems, with line numbers
     * @param workerPid       the pid of the process that parsed the file
     */
    public record FileStats(String file, long lines, int classes, int interfaces, int records, int enums,
                            int methods, int fields, int lambdas, int problems, List<String> problemMessages,
                            long workerPid) {
    }

    /** Walks a syntax tree and counts declarations. */
    private static final class Counter extends TreeScanner<Void, Void> {
        int classes;
        int interfaces;
        int records;
        int enums;
        int methods;
        int fields;
        int lambdas;

        @Override
        public Void visitClass(ClassTree node, Void unused) {
            switch (node.getKind()) {
                case INTERFACE, ANNOTATION_TYPE -> interfaces++;
                case RECORD -> records++;
                case ENUM -> enums++;
                default -> classes++;
            }
            // Variables directly in a class body are fields; those inside methods are locals.
            fields += (int) node.getMembers().stream().filter(m -> m.getKind() == Tree.Kind.VARIABLE).count();
            return super.visitClass(node, unused);
        }

        @Override
        public Void visitMethod(MethodTree node, Void unused) {
            methods++;
            return super.visitMethod(node, unused);
        }

        @Override
        public Void visitLambdaExpression(LambdaExpressionTree node, Void unused) {
            lambdas++;
            return super.visitLambdaExpression(node, unused);
        }
    }

    /** A source file whose text was already read, so javac does not read it again. */
    private static final class SourceText extends SimpleJavaFileObject {
        private final String text;

        SourceText(Path file, String text) {
            super(file.toUri(), Kind.SOURCE);
            this.text = text;
        }

        @Override
        public CharSequence getCharContent(boolean ignoreEncodingErrors) {
            return text;
        }
    }
}
