package dev.procpool;

import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * A set of identical workers: how they are launched, how many there are, and their environment. Immutable;
 * build one with {@link #builder(String, WorkerSpec)}.
 *
 * <p>Workers get a minimal environment: the variables named in {@link #DEFAULT_INHERITED_ENVIRONMENT} and
 * {@link Builder#inheritEnvironment(String...)} taken from the host, plus those set with
 * {@link Builder#environment(String, String)}. Nothing else of the host's environment reaches them.
 */
public final class WorkerGroup {
    /** The most workers one group may have. */
    public static final int MAX_WORKERS = 1024;
    /** Host environment variables every worker inherits when the host has them. */
    public static final Set<String> DEFAULT_INHERITED_ENVIRONMENT =
            Set.of("PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR");

    /**
     * The most tasks adaptive send-ahead (the default, see {@link #prefetch()}) sends to a worker beyond those it runs
     * at once.
     */
    public static final int ADAPTIVE_PREFETCH_MAX = 64;

    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_.-]{0,63}");
    private static final Pattern ENV_NAME = Pattern.compile("[A-Za-z_][A-Za-z0-9_]*");

    private final String name;
    private final WorkerSpec spec;
    private final int workers;
    private final int minWorkers;
    private final int maxWorkers;
    private final Duration idleTimeout;
    private final int maxConcurrency;
    private final Set<String> capabilities;
    private final LoadBalancer loadBalancer;
    private final int hotSpares;
    private final int prefetch;
    private final boolean adaptivePrefetch;
    private final Map<String, String> environment;
    private final Set<String> inheritedEnvironment;
    private final Path workingDirectory;
    private final Long memorySoftLimitBytes;
    private final Long memoryHardLimitBytes;
    private final Long recycleAfterTasks;
    private final Duration recycleAfterAge;

    private WorkerGroup(Builder builder, int workers, int minWorkers, int maxWorkers) {
        this.name = builder.name;
        this.spec = builder.spec;
        this.workers = workers;
        this.minWorkers = minWorkers;
        this.maxWorkers = maxWorkers;
        this.idleTimeout = builder.idleTimeout;
        this.maxConcurrency = builder.maxConcurrency;
        this.capabilities = Set.copyOf(builder.capabilities);
        this.loadBalancer = builder.loadBalancer;
        this.hotSpares = builder.hotSpares;
        this.prefetch = builder.adaptivePrefetch ? ADAPTIVE_PREFETCH_MAX : builder.prefetch;
        this.adaptivePrefetch = builder.adaptivePrefetch;
        this.environment = Map.copyOf(builder.environment);
        this.inheritedEnvironment = Set.copyOf(builder.inheritedEnvironment);
        this.workingDirectory = builder.workingDirectory;
        this.memorySoftLimitBytes = builder.memorySoftLimitBytes;
        this.memoryHardLimitBytes = builder.memoryHardLimitBytes;
        this.recycleAfterTasks = builder.recycleAfterTasks;
        this.recycleAfterAge = builder.recycleAfterAge;
    }

    /**
     * A builder for a group.
     *
     * @param name letters, digits, '.', '_' or '-', at most 64 characters, starting with a letter or digit
     * @param spec how the group's workers are launched
     * @return a builder of the group, with the defaults
     */
    public static Builder builder(String name, WorkerSpec spec) {
        return new Builder(name, spec);
    }

    /** {@return the group's name} */
    public String name() {
        return name;
    }

    /** {@return how the group's workers are launched} */
    public WorkerSpec spec() {
        return spec;
    }

    /** {@return how many workers the group starts with} */
    public int workers() {
        return workers;
    }

    /** {@return the fewest workers automatic scaling keeps} */
    public int minWorkers() {
        return minWorkers;
    }

    /** {@return the most workers automatic scaling starts} */
    public int maxWorkers() {
        return maxWorkers;
    }

    /** {@return whether the group scales automatically (its minimum is below its maximum)} */
    public boolean autoscaling() {
        return minWorkers < maxWorkers;
    }

    /** {@return how long a worker may stay idle before automatic scaling retires it (down to the minimum)} */
    public Duration idleTimeout() {
        return idleTimeout;
    }

    /** {@return how many tasks one worker may run at once (a worker may announce fewer)} */
    public int maxConcurrency() {
        return maxConcurrency;
    }

    /** {@return the capabilities every worker of the group has, in addition to those a worker announces itself} */
    public Set<String> capabilities() {
        return capabilities;
    }

    /**
     * Workers kept started and idle beyond the group's size, taking no task until one replaces a worker that died
     * (which it does at once, with no start-up wait).
     *
     * @return the number of hot spares
     */
    public int hotSpares() {
        return hotSpares;
    }

    /**
     * The most tasks sent ahead to each worker beyond those it runs at once, so that it does not wait for the host
     * between tasks (pipelining).
     *
     * <p><b>Adaptive</b> (the default, {@link #adaptivePrefetch()}): each worker gets its own window, sized from two
     * times the pool measures: how long the worker says its tasks take, and the round trip from sending a task to its
     * answer, less that. The window holds about one round trip's worth of tasks, up to
     * {@link #ADAPTIVE_PREFETCH_MAX}: deep for tasks of microseconds, so that they stream; one task for tasks of up
     * to 32 round trips and 2 ms, so that the worker does not idle a round trip between them; none for longer tasks,
     * which keep strict priority order and are sent only to a worker with a free slot. A task is sent ahead only
     * when no worker that can run it has a slot free, only if tasks of its type are known to fit the window (within
     * a round trip, or within 32 and 2 ms as the one task ahead), and only behind a task of such a type that has not
     * yet run longer than that; the window shrinks as soon as a task takes longer. A worker that does not report its
     * task times (the {@code runNanos} of PROTOCOL.md; the Java runtime does) gets no window.
     *
     * <p><b>Fixed</b> ({@link Builder#prefetch(int)}): exactly that many, whatever the tasks take; 0 sends a task
     * only to a free slot.
     *
     * <p>What a task sent ahead means for the caller: it waits at its worker behind that worker's current tasks, so a
     * task of higher priority submitted meanwhile can start after it there (priority order holds among the tasks
     * still queued in the pool); its timeout counts from when it is sent, including that wait; and if the worker
     * dies, the task's current attempt dies with it, like the running task's.
     *
     * @return the tasks sent ahead to each worker: the fixed number, or {@link #ADAPTIVE_PREFETCH_MAX} when adaptive
     */
    public int prefetch() {
        return prefetch;
    }

    /** {@return whether each worker's send-ahead window adapts to its measured task times (the default)} */
    public boolean adaptivePrefetch() {
        return adaptivePrefetch;
    }

    /** {@return the group's own load balancer, if it has one; otherwise the pool's} */
    public Optional<LoadBalancer> loadBalancer() {
        return Optional.ofNullable(loadBalancer);
    }

    /** {@return the variables set explicitly in the workers' environment} */
    public Map<String, String> environment() {
        return environment;
    }

    /** {@return the host variables the workers inherit when the host has them, the defaults included} */
    public Set<String> inheritedEnvironment() {
        return inheritedEnvironment;
    }

    /** {@return the workers' working directory; empty means the host's} */
    public Optional<Path> workingDirectory() {
        return Optional.ofNullable(workingDirectory);
    }

    /** {@return the resident memory above which a worker is replaced after its current task} */
    public OptionalLong memorySoftLimitBytes() {
        return memorySoftLimitBytes == null ? OptionalLong.empty() : OptionalLong.of(memorySoftLimitBytes);
    }

    /** {@return the resident memory above which a worker is killed at once (its task fails with OUT_OF_MEMORY)} */
    public OptionalLong memoryHardLimitBytes() {
        return memoryHardLimitBytes == null ? OptionalLong.empty() : OptionalLong.of(memoryHardLimitBytes);
    }

    /**
     * {@return the number of tasks after which a worker is replaced (each worker's own limit is spread by up to −10 %)}
     */
    public OptionalLong recycleAfterTasks() {
        return recycleAfterTasks == null ? OptionalLong.empty() : OptionalLong.of(recycleAfterTasks);
    }

    /** {@return the age after which a worker is replaced (each worker's own limit is spread by up to −10 %)} */
    public Optional<Duration> recycleAfterAge() {
        return Optional.ofNullable(recycleAfterAge);
    }

    @Override
    public String toString() {
        return "WorkerGroup{name=" + name + ", workers=" + workers + ", min=" + minWorkers + ", max=" + maxWorkers
                + (capabilities.isEmpty() ? "" : ", capabilities=" + capabilities)
                + (maxConcurrency == 1 ? "" : ", maxConcurrency=" + maxConcurrency) + ", spec=" + spec + '}';
    }

    /** Builds a {@link WorkerGroup}; each setter validates its argument. Not thread-safe. */
    public static final class Builder {
        private final String name;
        private final WorkerSpec spec;
        private Integer workers;
        private Integer minWorkers;
        private Integer maxWorkers;
        private Duration idleTimeout = Duration.ofSeconds(60);
        private int maxConcurrency = 1;
        private final Set<String> capabilities = new LinkedHashSet<>();
        private LoadBalancer loadBalancer;
        private int hotSpares;
        private int prefetch;
        private boolean adaptivePrefetch = true;
        private final Map<String, String> environment = new LinkedHashMap<>();
        private final Set<String> inheritedEnvironment = new LinkedHashSet<>(DEFAULT_INHERITED_ENVIRONMENT);
        private Path workingDirectory;
        private Long memorySoftLimitBytes;
        private Long memoryHardLimitBytes;
        private Long recycleAfterTasks;
        private Duration recycleAfterAge;

        private Builder(String name, WorkerSpec spec) {
            Objects.requireNonNull(name, "name");
            if (!NAME.matcher(name).matches()) {
                throw new IllegalArgumentException("group name must be 1 to 64 letters, digits, '.', '_' or '-' "
                        + "starting with a letter or digit, was \"" + name + "\"");
            }
            this.name = name;
            this.spec = Objects.requireNonNull(spec, "spec");
        }

        /**
         * How many workers the group starts with; with neither {@link #minWorkers(int)} nor
         * {@link #maxWorkers(int)} it is also the fixed size. Default: the number of processors.
         *
         * @param workers 1 to {@value WorkerGroup#MAX_WORKERS}
         * @return this builder
         */
        public Builder workers(int workers) {
            if (workers < 1 || workers > MAX_WORKERS) {
                throw new IllegalArgumentException("workers must be between 1 and " + MAX_WORKERS + ", was " + workers);
            }
            this.workers = workers;
            return this;
        }

        /**
         * The fewest workers automatic scaling keeps: 0 to {@value WorkerGroup#MAX_WORKERS}.
         *
         * @param min the fewest workers
         * @return this builder
         */
        public Builder minWorkers(int min) {
            if (min < 0 || min > MAX_WORKERS) {
                throw new IllegalArgumentException("minWorkers must be between 0 and " + MAX_WORKERS + ", was " + min);
            }
            this.minWorkers = min;
            return this;
        }

        /**
         * The most workers automatic scaling starts: 1 to {@value WorkerGroup#MAX_WORKERS}.
         *
         * @param max the most workers
         * @return this builder
         */
        public Builder maxWorkers(int max) {
            if (max < 1 || max > MAX_WORKERS) {
                throw new IllegalArgumentException("maxWorkers must be between 1 and " + MAX_WORKERS + ", was " + max);
            }
            this.maxWorkers = max;
            return this;
        }

        /**
         * How long a worker may stay idle before automatic scaling retires it (default 60 s); positive.
         *
         * @param timeout the idle timeout
         * @return this builder
         */
        public Builder idleTimeout(Duration timeout) {
            Objects.requireNonNull(timeout, "idleTimeout");
            if (timeout.isNegative() || timeout.isZero()) {
                throw new IllegalArgumentException("idleTimeout must be positive, was " + timeout);
            }
            this.idleTimeout = timeout;
            return this;
        }

        /**
         * How many tasks one worker may run at once (default 1): 1 to 1024. Java workers run that many task
         * threads, so their handlers must then be thread-safe; other workers announce their own limit.
         *
         * @param tasks the tasks one worker runs at once
         * @return this builder
         */
        public Builder maxConcurrency(int tasks) {
            if (tasks < 1 || tasks > 1024) {
                throw new IllegalArgumentException("maxConcurrency must be between 1 and 1024, was " + tasks);
            }
            this.maxConcurrency = tasks;
            return this;
        }

        /**
         * Capabilities of every worker of the group, matched against what tasks require.
         *
         * @param capabilities the capabilities
         * @return this builder
         */
        public Builder capabilities(String... capabilities) {
            for (String capability : List.of(capabilities)) {
                if (capability.isBlank()) {
                    throw new IllegalArgumentException("capabilities must not be blank, got " + List.of(capabilities));
                }
            }
            this.capabilities.addAll(List.of(capabilities));
            return this;
        }

        /**
         * Started, idle workers kept ready to replace a dead worker at once (default 0): 0 to 64.
         *
         * @param spares the number of hot spares
         * @return this builder
         */
        public Builder hotSpares(int spares) {
            if (spares < 0 || spares > 64) {
                throw new IllegalArgumentException("hotSpares must be between 0 and 64, was " + spares);
            }
            this.hotSpares = spares;
            return this;
        }

        /**
         * A fixed number of tasks sent ahead to each worker beyond its concurrency, instead of the adaptive window
         * (the default): 0 to 1024; 0 sends tasks only to free slots. See {@link WorkerGroup#prefetch()}.
         *
         * @param tasks the tasks sent ahead
         * @return this builder
         */
        public Builder prefetch(int tasks) {
            if (tasks < 0 || tasks > 1024) {
                throw new IllegalArgumentException("prefetch must be between 0 and 1024, was " + tasks);
            }
            this.prefetch = tasks;
            this.adaptivePrefetch = false;
            return this;
        }

        /**
         * Sizes each worker's send-ahead window from its measured task times and round trips (the default; undoes
         * {@link #prefetch(int)}). See {@link WorkerGroup#prefetch()}.
         *
         * @return this builder
         */
        public Builder adaptivePrefetch() {
            this.prefetch = 0;
            this.adaptivePrefetch = true;
            return this;
        }

        /**
         * The group's own load balancer instead of the pool's.
         *
         * @param balancer the group's load balancer
         * @return this builder
         */
        public Builder loadBalancer(LoadBalancer balancer) {
            this.loadBalancer = Objects.requireNonNull(balancer, "loadBalancer");
            return this;
        }

        /**
         * Sets one variable in the workers' environment.
         *
         * @param variable the variable's name
         * @param value    its value
         * @return this builder
         */
        public Builder environment(String variable, String value) {
            checkEnvName(variable);
            Objects.requireNonNull(value, "value");
            environment.put(variable, value);
            return this;
        }

        /**
         * Lets the workers inherit these host variables (when the host has them).
         *
         * @param variables the names of the variables
         * @return this builder
         */
        public Builder inheritEnvironment(String... variables) {
            List<String> names = List.of(variables);
            names.forEach(Builder::checkEnvName); // all or nothing
            inheritedEnvironment.addAll(names);
            return this;
        }

        /**
         * The workers' working directory; it must exist.
         *
         * @param directory the working directory
         * @return this builder
         */
        public Builder workingDirectory(Path directory) {
            Objects.requireNonNull(directory, "directory");
            if (!java.nio.file.Files.isDirectory(directory)) {
                throw new IllegalArgumentException("workingDirectory must be an existing directory, was " + directory);
            }
            this.workingDirectory = directory;
            return this;
        }

        /**
         * Replace a worker after its current task once its resident memory exceeds this; at least 1 MiB.
         *
         * @param bytes the soft limit in bytes
         * @return this builder
         */
        public Builder memorySoftLimitBytes(long bytes) {
            this.memorySoftLimitBytes = atLeastOneMiB("memorySoftLimitBytes", bytes);
            return this;
        }

        /**
         * Kill a worker at once when its resident memory exceeds this; at least 1 MiB.
         *
         * @param bytes the hard limit in bytes
         * @return this builder
         */
        public Builder memoryHardLimitBytes(long bytes) {
            this.memoryHardLimitBytes = atLeastOneMiB("memoryHardLimitBytes", bytes);
            return this;
        }

        /**
         * Replace a worker after it has served this many tasks; 1 or more.
         *
         * @param tasks the tasks served before a worker is replaced
         * @return this builder
         */
        public Builder recycleAfterTasks(long tasks) {
            if (tasks < 1) {
                throw new IllegalArgumentException("recycleAfterTasks must be 1 or more, was " + tasks);
            }
            this.recycleAfterTasks = tasks;
            return this;
        }

        /**
         * Replace a worker once it is this old (after its current task); positive.
         *
         * @param age the age at which a worker is replaced
         * @return this builder
         */
        public Builder recycleAfterAge(Duration age) {
            Objects.requireNonNull(age, "recycleAfterAge");
            if (age.isNegative() || age.isZero()) {
                throw new IllegalArgumentException("recycleAfterAge must be positive, was " + age);
            }
            this.recycleAfterAge = age;
            return this;
        }

        /**
         * The immutable group.
         *
         * @return the validated group
         * @throws IllegalStateException if the soft memory limit is not below the hard one
         */
        public WorkerGroup build() {
            if (memorySoftLimitBytes != null && memoryHardLimitBytes != null
                    && memorySoftLimitBytes >= memoryHardLimitBytes) {
                throw new IllegalStateException("memorySoftLimitBytes (" + memorySoftLimitBytes
                        + ") must be below memoryHardLimitBytes (" + memoryHardLimitBytes + ")");
            }
            int processors = Math.max(1, Runtime.getRuntime().availableProcessors());
            int max = maxWorkers != null ? maxWorkers : workers != null ? workers : Math.max(processors,
                    minWorkers == null ? 1 : minWorkers);
            int min = minWorkers != null ? minWorkers : workers != null ? Math.min(workers, max) : max;
            int initial = workers != null ? workers : min;
            if (min > max) {
                throw new IllegalStateException("minWorkers (" + min + ") must not exceed maxWorkers (" + max + ")");
            }
            if (initial < min || initial > max) {
                throw new IllegalStateException("workers (" + initial + ") must be between minWorkers (" + min
                        + ") and maxWorkers (" + max + ")");
            }
            return new WorkerGroup(this, initial, min, max);
        }

        private static long atLeastOneMiB(String setting, long bytes) {
            if (bytes < (1 << 20)) {
                throw new IllegalArgumentException(setting + " must be at least 1 MiB (1048576), was " + bytes);
            }
            return bytes;
        }

        private static void checkEnvName(String variable) {
            Objects.requireNonNull(variable, "variable");
            if (!ENV_NAME.matcher(variable).matches()) {
                throw new IllegalArgumentException("environment variable names are letters, digits and '_', not "
                        + "starting with a digit; was \"" + variable + "\"");
            }
        }
    }
}
