package dev.procpool.core.internal.process;

import dev.procpool.PoolConfig;
import dev.procpool.TaskHandler;
import dev.procpool.WorkerGroup;
import dev.procpool.WorkerSpec;
import dev.procpool.core.internal.process.WorkerProcess.LaunchSpec;

import java.io.File;
import java.lang.reflect.Modifier;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Turns a worker group's configuration into the argument list and environment of one worker process. */
public final class WorkerCommands {
    private WorkerCommands() {
    }

    /**
     * Checks what can be checked before launching: that Java handler classes exist on the host's classpath (when
     * the workers use it), implement {@link TaskHandler} and have a public no-argument constructor, and that a
     * worker started from the host's class path or module path finds them and pool-core's worker runtime.
     *
     * @throws IllegalArgumentException naming the class and what is wrong
     * @throws dev.procpool.WorkerStartupException if workers cannot be started from the host's paths
     */
    public static void validate(WorkerGroup group) {
        List<String> handlers;
        if (group.spec() instanceof WorkerSpec.Java java && java.classpath().isEmpty()) {
            handlers = java.handlerClassNames();
        } else if (group.spec() instanceof WorkerSpec.InProcess inProcess) {
            handlers = inProcess.handlerClassNames();
        } else {
            return;
        }
        ClassLoader loader = Thread.currentThread().getContextClassLoader() != null
                ? Thread.currentThread().getContextClassLoader() : WorkerCommands.class.getClassLoader();
        List<Class<?>> handlerClasses = new ArrayList<>();
        for (String name : handlers) {
            Class<?> type;
            try {
                type = Class.forName(name, false, loader);
            } catch (ClassNotFoundException | LinkageError e) {
                throw new IllegalArgumentException("handler class \"" + name + "\" of group \"" + group.name()
                        + "\" is not on the classpath; a handler must be a class implementing "
                        + TaskHandler.class.getName() + " (or give the workers their own classpath)");
            }
            if (!TaskHandler.class.isAssignableFrom(type) || Modifier.isAbstract(type.getModifiers())) {
                throw new IllegalArgumentException("handler class \"" + name + "\" of group \"" + group.name()
                        + "\" must be a concrete class implementing " + TaskHandler.class.getName());
            }
            try {
                if (!Modifier.isPublic(type.getConstructor().getModifiers())) {
                    throw new NoSuchMethodException();
                }
            } catch (NoSuchMethodException e) {
                throw new IllegalArgumentException("handler class \"" + name + "\" of group \"" + group.name()
                        + "\" needs a public no-argument constructor");
            }
            handlerClasses.add(type);
        }
        if (group.spec() instanceof WorkerSpec.Java) {
            WorkerClasspath.check(group.name(), handlerClasses);
        }
    }

    /** What to run for a worker; {@code spare} tells the worker that nothing waits for it to be ready. */
    public static LaunchSpec launchSpec(PoolConfig config, WorkerGroup group, String workerId, ClassDataSharing cds,
                                 boolean spare) {
        List<String> argv;
        if (group.spec() instanceof WorkerSpec.Java java) {
            WorkerClasspath.Launch launch = launch(java, config.workerCacheDirectory());
            argv = javaArgv(java, launch);
            List<String> options = cds == null || launch.sharedClassPath().isEmpty() ? List.of()
                    : cds.optionsFor(workerId, argv.get(0), java.jvmOptions(), launch.sharedClassPath(),
                    java.handlerClassNames());
            if (!options.isEmpty()) {
                argv = new ArrayList<>(argv);
                argv.addAll(1, options);
            }
        } else {
            argv = argv(group.spec());
        }
        Map<String, String> environment = environment(config, group, workerId);
        if (spare) {
            environment.put("PROCPOOL_WARM_UP", "1");
        }
        return new LaunchSpec(argv, environment, group.workingDirectory().orElse(null), group.spec());
    }

    private static WorkerClasspath.Launch launch(WorkerSpec.Java java, Path cacheDirectory) {
        return java.classpath().isEmpty() ? WorkerClasspath.forHost(java.handlerClassNames(), cacheDirectory)
                : WorkerClasspath.forClassPath(java.classpath());
    }

    private static List<String> javaArgv(WorkerSpec.Java java, WorkerClasspath.Launch launch) {
        List<String> argv = new ArrayList<>();
        argv.add(java.javaExecutableOverride()
                .orElse(Path.of(System.getProperty("java.home"), "bin", "java")).toString());
        argv.addAll(java.jvmOptions());
        argv.addAll(launch.arguments());
        argv.addAll(java.handlerClassNames());
        return argv;
    }

    /**
     * The command of a worker, for messages. It has no side effects: a Java worker from a Spring Boot jar is shown
     * with the jar's latest extraction, or with Boot's launcher before any; {@link #launchSpec} gives the exact
     * command.
     */
    public static List<String> argv(WorkerSpec spec) {
        if (spec instanceof WorkerSpec.Command command) {
            return command.argv();
        }
        if (spec instanceof WorkerSpec.InProcess inProcess) {
            List<String> argv = new ArrayList<>(List.of("(in-process)"));
            argv.addAll(inProcess.handlerClassNames());
            return argv;
        }
        WorkerSpec.Java java = (WorkerSpec.Java) spec;
        return javaArgv(java, java.classpath().isEmpty() ? WorkerClasspath.forMessages(java.handlerClassNames())
                : WorkerClasspath.forClassPath(java.classpath()));
    }

    /**
     * A command for people to read in a message: a class path or module path is shortened to its first and last
     * entries and a count (the full path is in the debug log), so that the message stays readable.
     */
    public static String describe(List<String> argv) {
        StringBuilder text = new StringBuilder();
        boolean pathNext = false;
        for (String arg : argv) {
            if (text.length() > 0) {
                text.append(' ');
            }
            text.append(pathNext ? shortPath(arg) : arg);
            pathNext = PATH_OPTIONS.contains(arg);
        }
        return text.toString();
    }

    private static final java.util.Set<String> PATH_OPTIONS = java.util.Set.of("-cp", "-classpath", "--class-path",
            "-p", "--module-path");

    private static String shortPath(String path) {
        String[] entries = path.split(java.util.regex.Pattern.quote(File.pathSeparator));
        if (entries.length <= 2) {
            return path;
        }
        return entries[0] + File.pathSeparator + "…(" + (entries.length - 2) + " more)" + File.pathSeparator
                + entries[entries.length - 1];
    }

    public static Map<String, String> environment(PoolConfig config, WorkerGroup group, String workerId) {
        Map<String, String> env = new LinkedHashMap<>();
        Map<String, String> host = System.getenv();
        for (String name : group.inheritedEnvironment()) {
            String value = host.get(name);
            if (value != null) {
                env.put(name, value);
            }
        }
        env.putAll(group.environment());
        env.put("PROCPOOL_PROTOCOL", "1");
        env.put("PROCPOOL_WORKER_ID", workerId);
        env.put("PROCPOOL_HEARTBEAT_MS", Long.toString(config.heartbeatInterval().toMillis()));
        env.put("PROCPOOL_MAX_FRAME_BYTES", Integer.toString(config.maxFrameBytes()));
        env.put("PROCPOOL_MAX_CONCURRENCY", Integer.toString(group.maxConcurrency()));
        if (!group.capabilities().isEmpty()) {
            env.put("PROCPOOL_CAPABILITIES", String.join(",", group.capabilities()));
        }
        return env;
    }
}
