package dev.procpool;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * How to launch a worker process. Two kinds are built in: a {@linkplain Java Java worker} (a JVM running
 * procpool's worker runtime and the user's {@link TaskHandler}s) and a {@linkplain Command command} (any program
 * that speaks the protocol in {@code PROTOCOL.md}). Commands are argument lists, never shell strings.
 */
public sealed interface WorkerSpec permits WorkerSpec.Java, WorkerSpec.Command, WorkerSpec.InProcess {

    /**
     * A Java worker running the given handler classes, with the default JVM options, finding its classes where the
     * host found them: the host's class path, uber jar, Spring Boot jar (extracted once) or module path (the README's
     * "Where a Java worker finds its classes"); {@link Java#withClasspath} sets a class path of its own instead.
     *
     * @param handlers the handler classes the worker runs
     * @return the spec of a Java worker
     */
    @SafeVarargs
    static Java java(Class<? extends TaskHandler>... handlers) {
        Objects.requireNonNull(handlers, "handlers");
        return new Java(Arrays.stream(handlers)
                .map(h -> Objects.requireNonNull(h, "handler classes must not be null").getName()).toList(),
                List.of(), Java.DEFAULT_JVM_OPTIONS, null);
    }

    /**
     * A Java worker running the handler classes with the given binary names (for a classpath the host lacks).
     *
     * @param handlerClassNames the binary names of the handler classes
     * @return the spec of a Java worker
     */
    static Java java(List<String> handlerClassNames) {
        return new Java(handlerClassNames, List.of(), Java.DEFAULT_JVM_OPTIONS, null);
    }

    /**
     * Workers that run the handlers on threads of the host itself: <strong>no isolation</strong> (a crash, a leak
     * or a hang hits the host), no process start-up. Meant for fast unit tests of handlers with the same API;
     * payloads and results still go through JSON, as with real workers.
     *
     * @param handlers the handler classes to run
     * @return the spec of in-process workers
     */
    @SafeVarargs
    static InProcess inProcess(Class<? extends TaskHandler>... handlers) {
        Objects.requireNonNull(handlers, "handlers");
        return new InProcess(Arrays.stream(handlers)
                .map(h -> Objects.requireNonNull(h, "handler classes must not be null").getName()).toList());
    }

    /**
     * A worker that runs the given program with the given arguments.
     *
     * @param argv the program and its arguments
     * @return the spec of a command worker
     */
    static Command command(List<String> argv) {
        return new Command(argv);
    }

    /**
     * A worker that runs the given program with the given arguments.
     *
     * @param program the program to run
     * @param args    its arguments
     * @return the spec of a command worker
     */
    static Command command(String program, String... args) {
        Objects.requireNonNull(program, "program");
        Objects.requireNonNull(args, "args");
        String[] argv = new String[args.length + 1];
        argv[0] = program;
        System.arraycopy(args, 0, argv, 1, args.length);
        return new Command(List.of(argv));
    }

    /**
     * A JVM worker.
     *
     * @param handlerClassNames the {@link TaskHandler} classes to instantiate in the worker; not empty
     * @param classpath         the worker's classpath; empty means where the host found its classes (its class path,
     *                          uber jar, Spring Boot jar or module path; see {@link WorkerSpec#java})
     * @param jvmOptions        options placed before the main class, for example {@code -Xmx256m}
     * @param javaExecutable    the {@code java} binary, or {@code null} for the one running the host
     */
    record Java(List<String> handlerClassNames, List<Path> classpath, List<String> jvmOptions, Path javaExecutable)
            implements WorkerSpec {
        /**
         * Options suited to long-lived workers: the serial collector (small footprint, no GC threads competing with
         * the host), class-data sharing when the JDK has an archive, no perf-data file in {@code /tmp}, an exit
         * (code 3) on the first OutOfMemoryError so a broken heap never serves another task, and JIT compilation
         * thresholds three times the JVM's ({@code -XX:CompileThresholdScaling=3}): a fresh worker then spends its
         * start-up running code once rather than compiling it, which took nearly a quarter off the CPU time of a worker
         * until its first result and 2 MiB off an idle worker's memory; hot code still reaches the optimizing
         * compiler, a little later.
         */
        public static final List<String> DEFAULT_JVM_OPTIONS = List.of(
                "-XX:+UseSerialGC", "-Xshare:auto", "-XX:-UsePerfData", "-XX:+ExitOnOutOfMemoryError",
                "-XX:CompileThresholdScaling=3");

        /**
         * Checks the components and copies the lists.
         *
         * @param handlerClassNames the {@link TaskHandler} classes to instantiate in the worker; not empty
         * @param classpath         the worker's classpath; empty means where the host found its classes
         * @param jvmOptions        options placed before the main class, each starting with {@code -}
         * @param javaExecutable    the {@code java} binary, or {@code null} for the one running the host
         * @throws IllegalArgumentException if there is no handler, a blank handler name or an option without
         *                                  {@code -}
         */
        public Java {
            handlerClassNames = List.copyOf(Objects.requireNonNull(handlerClassNames, "handlerClassNames"));
            classpath = List.copyOf(Objects.requireNonNull(classpath, "classpath"));
            jvmOptions = List.copyOf(Objects.requireNonNull(jvmOptions, "jvmOptions"));
            if (handlerClassNames.isEmpty()) {
                throw new IllegalArgumentException("a Java worker needs at least one TaskHandler class, got none");
            }
            for (String name : handlerClassNames) {
                if (name.isBlank()) {
                    throw new IllegalArgumentException("handler class names must not be blank, got " + handlerClassNames);
                }
            }
            for (String option : jvmOptions) {
                if (!option.startsWith("-")) {
                    throw new IllegalArgumentException("JVM options must start with '-', got \"" + option
                            + "\"; pass each option as its own list element");
                }
            }
        }

        /**
         * This spec with the given worker classpath instead of the host's.
         *
         * @param classpath the entries of the worker's classpath
         * @return a copy of this spec with that classpath
         */
        public Java withClasspath(List<Path> classpath) {
            return new Java(handlerClassNames, classpath, jvmOptions, javaExecutable);
        }

        /**
         * This spec with these JVM options instead of {@link #DEFAULT_JVM_OPTIONS}.
         *
         * @param jvmOptions the JVM options
         * @return a copy of this spec with those options
         */
        public Java withJvmOptions(List<String> jvmOptions) {
            return new Java(handlerClassNames, classpath, jvmOptions, javaExecutable);
        }

        /**
         * This spec with its current JVM options followed by {@code extra}.
         *
         * @param extra the options to add
         * @return a copy of this spec with those options added
         */
        public Java withExtraJvmOptions(List<String> extra) {
            return new Java(handlerClassNames, classpath,
                    java.util.stream.Stream.concat(jvmOptions.stream(), extra.stream()).toList(), javaExecutable);
        }

        /**
         * This spec with another {@code java} binary.
         *
         * @param javaExecutable the {@code java} binary to run
         * @return a copy of this spec with that binary
         */
        public Java withJavaExecutable(Path javaExecutable) {
            return new Java(handlerClassNames, classpath, jvmOptions,
                    Objects.requireNonNull(javaExecutable, "javaExecutable"));
        }

        /** {@return the configured {@code java} binary, if any} */
        public Optional<Path> javaExecutableOverride() {
            return Optional.ofNullable(javaExecutable);
        }
    }

    /**
     * Any program that speaks the worker protocol.
     *
     * @param argv the program and its arguments, one element each; not empty
     */
    record Command(List<String> argv) implements WorkerSpec {
        /**
         * Checks and copies the argument list.
         *
         * @param argv the program and its arguments, one element each; not empty
         * @throws IllegalArgumentException if there is no program
         */
        public Command {
            argv = List.copyOf(Objects.requireNonNull(argv, "argv"));
            if (argv.isEmpty() || argv.get(0).isBlank()) {
                throw new IllegalArgumentException("a worker command needs a program as its first element, got "
                        + argv);
            }
        }
    }

    /**
     * Handlers run on the host's own threads; see {@link WorkerSpec#inProcess(Class[])}. Not isolated.
     *
     * @param handlerClassNames the {@link TaskHandler} classes, created once per worker with their no-argument
     *                          constructors
     */
    record InProcess(List<String> handlerClassNames) implements WorkerSpec {
        /**
         * Checks and copies the handler class names.
         *
         * @param handlerClassNames the {@link TaskHandler} classes; not empty
         * @throws IllegalArgumentException if there is none
         */
        public InProcess {
            handlerClassNames = List.copyOf(Objects.requireNonNull(handlerClassNames, "handlerClassNames"));
            if (handlerClassNames.isEmpty()) {
                throw new IllegalArgumentException("an in-process worker needs at least one TaskHandler class, got "
                        + "none");
            }
        }
    }
}
