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

    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_.-]{0,63}");
    private static final Pattern ENV_NAME = Pattern.compile("[A-Za-z_][A-Za-z0-9_]*");

    private final String name;
    private final WorkerSpec spec;
    private final int workers;
    private final Map<String, String> environment;
    private final Set<String> inheritedEnvironment;
    private final Path workingDirectory;
    private final Long memorySoftLimitBytes;
    private final Long memoryHardLimitBytes;
    private final Long recycleAfterTasks;
    private final Duration recycleAfterAge;

    private WorkerGroup(Builder builder) {
        this.name = builder.name;
        this.spec = builder.spec;
        this.workers = builder.workers;
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
     */
    public static Builder builder(String name, WorkerSpec spec) {
        return new Builder(name, spec);
    }

    /** The group's name. */
    public String name() {
        return name;
    }

    /** How the group's workers are launched. */
    public WorkerSpec spec() {
        return spec;
    }

    /** How many workers the group keeps running. */
    public int workers() {
        return workers;
    }

    /** Variables set explicitly in the workers' environment. */
    public Map<String, String> environment() {
        return environment;
    }

    /** Host variables the workers inherit when the host has them, the defaults included. */
    public Set<String> inheritedEnvironment() {
        return inheritedEnvironment;
    }

    /** The workers' working directory; empty means the host's. */
    public Optional<Path> workingDirectory() {
        return Optional.ofNullable(workingDirectory);
    }

    /** Resident memory above which a worker is replaced after its current task. */
    public OptionalLong memorySoftLimitBytes() {
        return memorySoftLimitBytes == null ? OptionalLong.empty() : OptionalLong.of(memorySoftLimitBytes);
    }

    /** Resident memory above which a worker is killed at once (its task fails with OUT_OF_MEMORY). */
    public OptionalLong memoryHardLimitBytes() {
        return memoryHardLimitBytes == null ? OptionalLong.empty() : OptionalLong.of(memoryHardLimitBytes);
    }

    /** Tasks after which a worker is replaced (each worker's own limit is spread by up to −10 %). */
    public OptionalLong recycleAfterTasks() {
        return recycleAfterTasks == null ? OptionalLong.empty() : OptionalLong.of(recycleAfterTasks);
    }

    /** Age after which a worker is replaced (each worker's own limit is spread by up to −10 %). */
    public Optional<Duration> recycleAfterAge() {
        return Optional.ofNullable(recycleAfterAge);
    }

    @Override
    public String toString() {
        return "WorkerGroup{name=" + name + ", workers=" + workers + ", spec=" + spec + '}';
    }

    /** Builds a {@link WorkerGroup}; each setter validates its argument. Not thread-safe. */
    public static final class Builder {
        private final String name;
        private final WorkerSpec spec;
        private int workers = Math.max(1, Runtime.getRuntime().availableProcessors());
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
         * How many workers the group runs; default: the number of processors.
         *
         * @param workers 1 to {@value WorkerGroup#MAX_WORKERS}
         */
        public Builder workers(int workers) {
            if (workers < 1 || workers > MAX_WORKERS) {
                throw new IllegalArgumentException("workers must be between 1 and " + MAX_WORKERS + ", was " + workers);
            }
            this.workers = workers;
            return this;
        }

        /** Sets one variable in the workers' environment. */
        public Builder environment(String variable, String value) {
            checkEnvName(variable);
            Objects.requireNonNull(value, "value");
            environment.put(variable, value);
            return this;
        }

        /** Lets the workers inherit these host variables (when the host has them). */
        public Builder inheritEnvironment(String... variables) {
            List<String> names = List.of(variables);
            names.forEach(Builder::checkEnvName); // all or nothing
            inheritedEnvironment.addAll(names);
            return this;
        }

        /** The workers' working directory; it must exist. */
        public Builder workingDirectory(Path directory) {
            Objects.requireNonNull(directory, "directory");
            if (!java.nio.file.Files.isDirectory(directory)) {
                throw new IllegalArgumentException("workingDirectory must be an existing directory, was " + directory);
            }
            this.workingDirectory = directory;
            return this;
        }

        /** Replace a worker after its current task once its resident memory exceeds this; at least 1 MiB. */
        public Builder memorySoftLimitBytes(long bytes) {
            this.memorySoftLimitBytes = atLeastOneMiB("memorySoftLimitBytes", bytes);
            return this;
        }

        /** Kill a worker at once when its resident memory exceeds this; at least 1 MiB. */
        public Builder memoryHardLimitBytes(long bytes) {
            this.memoryHardLimitBytes = atLeastOneMiB("memoryHardLimitBytes", bytes);
            return this;
        }

        /** Replace a worker after it has served this many tasks; 1 or more. */
        public Builder recycleAfterTasks(long tasks) {
            if (tasks < 1) {
                throw new IllegalArgumentException("recycleAfterTasks must be 1 or more, was " + tasks);
            }
            this.recycleAfterTasks = tasks;
            return this;
        }

        /** Replace a worker once it is this old (after its current task); positive. */
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
         * @throws IllegalStateException if the soft memory limit is not below the hard one
         */
        public WorkerGroup build() {
            if (memorySoftLimitBytes != null && memoryHardLimitBytes != null
                    && memorySoftLimitBytes >= memoryHardLimitBytes) {
                throw new IllegalStateException("memorySoftLimitBytes (" + memorySoftLimitBytes
                        + ") must be below memoryHardLimitBytes (" + memoryHardLimitBytes + ")");
            }
            return new WorkerGroup(this);
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
