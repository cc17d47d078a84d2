package dev.procpool;

import dev.procpool.spi.PoolTracker;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * The immutable configuration of a {@link WorkerPool}, validated when built. Obtain a builder with
 * {@link WorkerPool#builder()}; every setter checks its argument at once (the message names the setting and
 * what is allowed) and {@link Builder#build()} checks the combinations.
 *
 * <p>Time settings are {@link Duration}s; there are no sentinel values: an optional setting is either set or
 * absent.
 *
 * <p>About 900 lines on purpose: every pool setting appears three times (the field and its accessor, the builder's
 * checked setter, the cross-checks of {@code build()}), each with its Javadoc; splitting the settings over several
 * classes would split the one reference users read.
 */
public final class PoolConfig {
    /** The default for {@link Builder#maxFrameBytes(int)}: 16 MiB. */
    public static final int DEFAULT_MAX_FRAME_BYTES = 16 << 20;
    /** The smallest frame limit accepted: 1 KiB. */
    public static final int MIN_FRAME_BYTES = 1 << 10;
    /** The largest frame limit accepted: 1 GiB. */
    public static final int MAX_FRAME_BYTES = 1 << 30;
    /** The default for {@link Builder#deadLetterMaxBytes(long)}: 64 MiB. */
    public static final long DEFAULT_DEAD_LETTER_MAX_BYTES = 64L << 20;
    /** The smallest byte bound of the dead-letter queue accepted: 1 KiB. */
    public static final long MIN_DEAD_LETTER_MAX_BYTES = 1L << 10;
    /** The largest byte bound of the dead-letter queue accepted: 1 TiB. */
    public static final long MAX_DEAD_LETTER_MAX_BYTES = 1L << 40;
    /** The name of the group the pool-level worker settings create. */
    public static final String DEFAULT_GROUP = "default";

    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_.-]{0,63}");

    /**
     * What the JVM's shutdown (SIGTERM, Ctrl-C, {@code System.exit}, the end of {@code main}) does to a pool that is
     * still open; see {@link Builder#jvmShutdown(JvmShutdown)}.
     */
    public enum JvmShutdown {
        /**
         * Drain: {@link WorkerPool#close()}, that is refuse new tasks, let queued and running ones finish within
         * {@link PoolConfig#shutdownTimeout()}, then stop the workers. The default, since a container gets SIGTERM
         * and a grace period before SIGKILL: tasks that fit in it finish instead of failing.
         */
        DRAIN,
        /** Stop at once: every queued and running task ends {@code CANCELLED} and the workers are killed. */
        STOP,
        /**
         * Nothing: the host closes the pool itself (its own shutdown hook, a dependency-injection container). If
         * the JVM ends with the pool open, its workers exit as their input closes, as after SIGKILL of the host.
         */
        NONE
    }

    private final String name;
    private final List<WorkerGroup> groups;
    private final Duration startupTimeout;
    private final int maxFrameBytes;
    private final Duration heartbeatInterval;
    private final Duration heartbeatTimeout;
    private final Duration defaultTaskTimeout;
    private final Duration cancelGracePeriod;
    private final Duration shutdownTimeout;
    private final Duration stopGracePeriod;
    private final JvmShutdown jvmShutdown;
    private final Ticker ticker;
    private final RetryPolicy retryPolicy;
    private final RestartPolicy restartPolicy;
    private final int deadLetterCapacity;
    private final long deadLetterMaxBytes;
    private final double spawnMemoryThreshold;
    private final List<PoolListener> listeners;
    private final List<PoolTracker> trackers;
    private final TaskStore taskStore;
    private final LoadBalancer loadBalancer;
    private final int queueCapacity;
    private final Duration blockWhenFull;
    private final Duration priorityAgingStep;
    private final Duration outputRetention;
    private final int maxTaskOutputLines;
    private final java.nio.file.Path taskLogDirectory;
    private final boolean classDataSharing;
    private final java.nio.file.Path workerCacheDirectory;
    private final PayloadCodec payloadCodec;

    private PoolConfig(Builder b, List<WorkerGroup> groups) {
        this.name = b.name;
        this.groups = List.copyOf(groups);
        this.startupTimeout = b.startupTimeout;
        this.maxFrameBytes = b.maxFrameBytes;
        this.heartbeatInterval = b.heartbeatInterval;
        this.heartbeatTimeout = b.heartbeatTimeout;
        this.defaultTaskTimeout = b.defaultTaskTimeout;
        this.cancelGracePeriod = b.cancelGracePeriod;
        this.shutdownTimeout = b.shutdownTimeout;
        this.stopGracePeriod = b.stopGracePeriod;
        this.jvmShutdown = b.jvmShutdown;
        this.ticker = b.ticker;
        this.retryPolicy = b.retryPolicy;
        this.restartPolicy = b.restartPolicy;
        this.deadLetterCapacity = b.deadLetterCapacity;
        this.deadLetterMaxBytes = b.deadLetterMaxBytes;
        this.spawnMemoryThreshold = b.spawnMemoryThreshold;
        this.listeners = List.copyOf(b.listeners);
        this.trackers = List.copyOf(b.trackers);
        this.taskStore = b.taskStore;
        this.loadBalancer = b.loadBalancer;
        this.queueCapacity = b.queueCapacity;
        this.blockWhenFull = b.blockWhenFull;
        this.priorityAgingStep = b.priorityAgingStep;
        this.outputRetention = b.outputRetention;
        this.maxTaskOutputLines = b.maxTaskOutputLines;
        this.taskLogDirectory = b.taskLogDirectory;
        this.classDataSharing = b.classDataSharing;
        this.workerCacheDirectory = b.workerCacheDirectory;
        this.payloadCodec = b.payloadCodec;
    }

    /** {@return a new builder with the defaults} */
    public static Builder builder() {
        return new Builder();
    }

    /** {@return the pool's name, used in thread names, logs and metric tags} */
    public String name() {
        return name;
    }

    /** {@return the worker groups, at least one} */
    public List<WorkerGroup> groups() {
        return groups;
    }

    /** {@return how long a worker may take from launch to its {@code ready} frame} */
    public Duration startupTimeout() {
        return startupTimeout;
    }

    /** {@return the largest frame, in bytes, either side may send; larger payloads are rejected at submission} */
    public int maxFrameBytes() {
        return maxFrameBytes;
    }

    /** {@return how often workers send heartbeats} */
    public Duration heartbeatInterval() {
        return heartbeatInterval;
    }

    /** {@return how long without any frame from a worker before it is declared a zombie} */
    public Duration heartbeatTimeout() {
        return heartbeatTimeout;
    }

    /** {@return the timeout of tasks that do not set their own; empty means such tasks never time out} */
    public Optional<Duration> defaultTaskTimeout() {
        return Optional.ofNullable(defaultTaskTimeout);
    }

    /** {@return how long a worker has to end a cancelled or timed-out task before it is killed and replaced} */
    public Duration cancelGracePeriod() {
        return cancelGracePeriod;
    }

    /** {@return how long {@link WorkerPool#close()} waits for queued and running tasks before stopping them} */
    public Duration shutdownTimeout() {
        return shutdownTimeout;
    }

    /** {@return how long each step of stopping a worker (shutdown frame, then SIGTERM, then SIGKILL) may take} */
    public Duration stopGracePeriod() {
        return stopGracePeriod;
    }

    /** {@return what the JVM's shutdown does to this pool if it is still open} */
    public JvmShutdown jvmShutdown() {
        return jvmShutdown;
    }

    /** {@return the pool's source of time} */
    public Ticker ticker() {
        return ticker;
    }

    /** {@return the retry policy of tasks that do not set their own} */
    public RetryPolicy retryPolicy() {
        return retryPolicy;
    }

    /** {@return how dead workers are replaced} */
    public RestartPolicy restartPolicy() {
        return restartPolicy;
    }

    /** {@return the most dead-letter entries kept; 0 keeps none (failed tasks end FAILED, not DEAD_LETTERED)} */
    public int deadLetterCapacity() {
        return deadLetterCapacity;
    }

    /**
     * The most bytes the dead-letter entries may hold together (payloads, messages, output tails); the oldest
     * entries are evicted to stay within it, and an entry larger than the whole bound is not kept (its task ends
     * {@link TaskState#FAILED}).
     *
     * @return the byte bound of the dead-letter queue
     */
    public long deadLetterMaxBytes() {
        return deadLetterMaxBytes;
    }

    /**
     * The fraction of the machine's (or container's) memory limit in use above which no new worker is started,
     * until usage falls below it again.
     *
     * @return the memory threshold, more than 0 and at most 1 (1: the gate is off)
     */
    public double spawnMemoryThreshold() {
        return spawnMemoryThreshold;
    }

    /** {@return the listeners registered from the start, so they also see the start-up events} */
    public List<PoolListener> listeners() {
        return listeners;
    }

    /** {@return the trackers that receive the pool's measurements (a metrics binder), from before its first worker} */
    public List<PoolTracker> trackers() {
        return trackers;
    }

    /** {@return where the pool keeps its tasks: in memory (the default) or a durable store} */
    public TaskStore taskStore() {
        return taskStore;
    }

    /** {@return the load balancer of groups that have none of their own} */
    public LoadBalancer loadBalancer() {
        return loadBalancer;
    }

    /**
     * {@return the most tasks that may wait (queued or waiting to retry); submissions beyond it are refused or wait}
     */
    public int queueCapacity() {
        return queueCapacity;
    }

    /**
     * When present, {@code submitTask} on a full queue waits up to this long for room before it is refused;
     * when empty it is refused at once.
     *
     * @return the longest wait for room in a full queue, or empty if a full queue refuses at once
     */
    public Optional<Duration> blockWhenFull() {
        return Optional.ofNullable(blockWhenFull);
    }

    /**
     * When present, a waiting task gains one priority level per step waited, so low priorities cannot starve;
     * empty when aging is off.
     *
     * @return the aging step, or empty if priorities are strict
     */
    public Optional<Duration> priorityAgingStep() {
        return Optional.ofNullable(priorityAgingStep);
    }

    /** {@return how long a task's output stays retrievable with {@link WorkerPool#taskOutput} after the task ended} */
    public Duration outputRetention() {
        return outputRetention;
    }

    /** {@return the most lines of output kept per task (the last ones)} */
    public int maxTaskOutputLines() {
        return maxTaskOutputLines;
    }

    /**
     * {@return the directory where each task's output is also written to {@code <task id>-<worker pid>.log}, if set}
     */
    public Optional<java.nio.file.Path> taskLogDirectory() {
        return Optional.ofNullable(taskLogDirectory);
    }

    /**
     * Whether Java workers start from a class-data-sharing archive (AppCDS) that the pool creates on first use and
     * reuses afterwards, which roughly halves their start-up. It applies when every classpath entry of the workers
     * is a jar (the JVM cannot archive classes from directories).
     *
     * @return whether Java workers use class-data sharing
     */
    public boolean classDataSharing() {
        return classDataSharing;
    }

    /** {@return the private directory (mode 0700) for the class-data-sharing archives} */
    public java.nio.file.Path workerCacheDirectory() {
        return workerCacheDirectory;
    }

    /**
     * The codec that writes task payloads as JSON at submit and reads results in {@link TaskResult#as(Class)}; empty
     * when the pool's built-in Jackson mapper does (see {@link PayloadCodec}).
     *
     * @return the application's payload codec, if one was set
     */
    public Optional<PayloadCodec> payloadCodec() {
        return Optional.ofNullable(payloadCodec);
    }

    @Override
    public String toString() {
        return "PoolConfig{name=" + name + ", groups=" + groups + ", startupTimeout=" + startupTimeout
                + ", maxFrameBytes=" + maxFrameBytes + ", heartbeatInterval=" + heartbeatInterval
                + ", heartbeatTimeout=" + heartbeatTimeout + ", defaultTaskTimeout=" + defaultTaskTimeout
                + ", cancelGracePeriod=" + cancelGracePeriod + ", retryPolicy=" + retryPolicy
                + ", restartPolicy=" + restartPolicy + ", deadLetterCapacity=" + deadLetterCapacity
                + ", deadLetterMaxBytes=" + deadLetterMaxBytes
                + ", spawnMemoryThreshold=" + spawnMemoryThreshold + ", loadBalancer=" + loadBalancer
                + ", queueCapacity=" + queueCapacity + ", blockWhenFull=" + blockWhenFull
                + ", priorityAgingStep=" + priorityAgingStep
                + ", shutdownTimeout=" + shutdownTimeout + ", stopGracePeriod=" + stopGracePeriod
                + ", jvmShutdown=" + jvmShutdown
                + (payloadCodec == null ? "" : ", payloadCodec=" + payloadCodec) + '}';
    }

    /**
     * Builds a {@link PoolConfig}, or starts a pool with it. Not thread-safe.
     *
     * <p>Workers are configured either with the pool-level shortcuts ({@link #workers(int)} together with
     * {@link #worker(WorkerSpec)}, {@link #javaWorker(Class[])} or {@link #command(String, String...)}), which make one
     * group named {@value PoolConfig#DEFAULT_GROUP}, or with {@link #group(WorkerGroup)}, not both.
     */
    public static final class Builder {
        private String name = "procpool";
        private final List<WorkerGroup> groups = new ArrayList<>();
        private WorkerSpec spec;
        private Integer workers;
        private Duration startupTimeout = Duration.ofSeconds(60);
        private int maxFrameBytes = DEFAULT_MAX_FRAME_BYTES;
        private Duration heartbeatInterval = Duration.ofSeconds(1);
        private Duration heartbeatTimeout = Duration.ofSeconds(10);
        private Duration defaultTaskTimeout;
        private Duration cancelGracePeriod = Duration.ofSeconds(2);
        private Duration shutdownTimeout = Duration.ofSeconds(30);
        private Duration stopGracePeriod = Duration.ofSeconds(3);
        private JvmShutdown jvmShutdown = JvmShutdown.DRAIN;
        private Ticker ticker = Ticker.system();
        private RetryPolicy retryPolicy = RetryPolicy.defaults();
        private RestartPolicy restartPolicy = RestartPolicy.defaults();
        private int deadLetterCapacity = 1000;
        private long deadLetterMaxBytes = DEFAULT_DEAD_LETTER_MAX_BYTES;
        private double spawnMemoryThreshold = 0.75;
        private final List<PoolListener> listeners = new ArrayList<>();
        private final List<PoolTracker> trackers = new ArrayList<>();
        private TaskStore taskStore = TaskStore.inMemory();
        private LoadBalancer loadBalancer = LoadBalancer.leastLoaded();
        private int queueCapacity = 100_000;
        private Duration blockWhenFull;
        private Duration priorityAgingStep = Duration.ofSeconds(1);
        private Duration outputRetention = Duration.ofMinutes(5);
        private int maxTaskOutputLines = 200;
        private java.nio.file.Path taskLogDirectory;
        private boolean classDataSharing = true;
        private java.nio.file.Path workerCacheDirectory = java.nio.file.Path.of(System.getProperty("java.io.tmpdir"),
                "procpool-" + System.getProperty("user.name", "user").replaceAll("[^A-Za-z0-9._-]", "_"));
        private PayloadCodec payloadCodec;

        private Builder() {
        }

        /**
         * The pool's name (default {@code procpool}): letters, digits, '.', '_' or '-', at most 64 characters.
         *
         * @param name the pool's name
         * @return this builder
         */
        public Builder name(String name) {
            Objects.requireNonNull(name, "name");
            if (!NAME.matcher(name).matches()) {
                throw new IllegalArgumentException("name must be 1 to 64 letters, digits, '.', '_' or '-' starting "
                        + "with a letter or digit, was \"" + name + "\"");
            }
            this.name = name;
            return this;
        }

        /**
         * The number of workers of the default group, 1 to {@value WorkerGroup#MAX_WORKERS}.
         *
         * @param workers the number of workers
         * @return this builder
         */
        public Builder workers(int workers) {
            if (workers < 1 || workers > WorkerGroup.MAX_WORKERS) {
                throw new IllegalArgumentException("workers must be between 1 and " + WorkerGroup.MAX_WORKERS
                        + ", was " + workers);
            }
            this.workers = workers;
            return this;
        }

        /**
         * How the default group's workers are launched.
         *
         * @param spec how the workers are launched
         * @return this builder
         */
        public Builder worker(WorkerSpec spec) {
            this.spec = Objects.requireNonNull(spec, "spec");
            return this;
        }

        /**
         * Java workers running these handlers, on the host's classpath; see {@link WorkerSpec#java(Class[])}.
         *
         * @param handlers the handler classes the workers run
         * @return this builder
         */
        @SafeVarargs
        public final Builder javaWorker(Class<? extends TaskHandler>... handlers) {
            return worker(WorkerSpec.java(handlers));
        }

        /**
         * Workers running this program; see {@link WorkerSpec#command(String, String...)}.
         *
         * @param program the program to run
         * @param args    its arguments
         * @return this builder
         */
        public Builder command(String program, String... args) {
            return worker(WorkerSpec.command(program, args));
        }

        /**
         * Workers running this argument list; see {@link WorkerSpec#command(List)}.
         *
         * @param argv the program and its arguments
         * @return this builder
         */
        public Builder command(List<String> argv) {
            return worker(WorkerSpec.command(argv));
        }

        /**
         * Adds a worker group. Group names must be unique.
         *
         * @param group the group to add
         * @return this builder
         */
        public Builder group(WorkerGroup group) {
            groups.add(Objects.requireNonNull(group, "group"));
            return this;
        }

        /**
         * How long a worker may take to send {@code ready} after launch (default 60 s); positive.
         *
         * @param timeout the start-up timeout
         * @return this builder
         */
        public Builder startupTimeout(Duration timeout) {
            this.startupTimeout = positive("startupTimeout", timeout);
            return this;
        }

        /**
         * The frame size limit in bytes (default 16 MiB), from 1 KiB to 1 GiB.
         *
         * @param bytes the frame limit in bytes
         * @return this builder
         */
        public Builder maxFrameBytes(int bytes) {
            if (bytes < MIN_FRAME_BYTES || bytes > MAX_FRAME_BYTES) {
                throw new IllegalArgumentException("maxFrameBytes must be between " + MIN_FRAME_BYTES + " and "
                        + MAX_FRAME_BYTES + ", was " + bytes);
            }
            this.maxFrameBytes = bytes;
            return this;
        }

        /**
         * How often workers heartbeat (default 1 s); from 10 ms to 1 hour.
         *
         * @param interval the heartbeat interval
         * @return this builder
         */
        public Builder heartbeatInterval(Duration interval) {
            positive("heartbeatInterval", interval);
            if (interval.compareTo(Duration.ofMillis(10)) < 0 || interval.compareTo(Duration.ofHours(1)) > 0) {
                throw new IllegalArgumentException("heartbeatInterval must be between 10ms and 1h, was " + interval);
            }
            this.heartbeatInterval = interval;
            return this;
        }

        /**
         * Silence after which a worker is a zombie (default 10 s); at least twice the heartbeat interval.
         *
         * @param timeout the heartbeat timeout
         * @return this builder
         */
        public Builder heartbeatTimeout(Duration timeout) {
            this.heartbeatTimeout = positive("heartbeatTimeout", timeout);
            return this;
        }

        /**
         * The timeout of tasks that set none (default: none); positive.
         *
         * @param timeout the default task timeout
         * @return this builder
         */
        public Builder defaultTaskTimeout(Duration timeout) {
            this.defaultTaskTimeout = positive("defaultTaskTimeout", timeout);
            return this;
        }

        /**
         * Time a worker gets to end a cancelled task before it is replaced (default 2 s); positive.
         *
         * @param grace the cancel grace period
         * @return this builder
         */
        public Builder cancelGracePeriod(Duration grace) {
            this.cancelGracePeriod = positive("cancelGracePeriod", grace);
            return this;
        }

        /**
         * How long {@code close()} lets queued and running tasks finish (default 30 s); zero or positive.
         *
         * @param timeout the shutdown timeout
         * @return this builder
         */
        public Builder shutdownTimeout(Duration timeout) {
            Objects.requireNonNull(timeout, "shutdownTimeout");
            if (timeout.isNegative()) {
                throw new IllegalArgumentException("shutdownTimeout must be zero or positive, was " + timeout);
            }
            this.shutdownTimeout = timeout;
            return this;
        }

        /**
         * Each step of stopping a worker: shutdown frame, SIGTERM, SIGKILL (default 3 s); positive.
         *
         * @param grace the grace period of each step
         * @return this builder
         */
        public Builder stopGracePeriod(Duration grace) {
            this.stopGracePeriod = positive("stopGracePeriod", grace);
            return this;
        }

        /**
         * What the JVM's shutdown does to the pool if it is still open (default {@link JvmShutdown#DRAIN}): drain
         * it within {@code shutdownTimeout}, {@link JvmShutdown#STOP stop} it at once, or leave it to the host
         * ({@link JvmShutdown#NONE}). It composes with a host that closes the pool at the same time (its own
         * shutdown hook, a container's context): every {@code close()} returns once the pool has terminated, and
         * none stops what another lets finish. Keep {@code shutdownTimeout} plus {@code stopGracePeriod} within the
         * time the platform allows between SIGTERM and SIGKILL (30 s by default in Kubernetes).
         *
         * @param action what the shutdown does
         * @return this builder
         */
        public Builder jvmShutdown(JvmShutdown action) {
            this.jvmShutdown = Objects.requireNonNull(action, "jvmShutdown");
            return this;
        }

        /**
         * The pool's time source (default {@link Ticker#system()}); for tests.
         *
         * @param ticker the time source
         * @return this builder
         */
        public Builder ticker(Ticker ticker) {
            this.ticker = Objects.requireNonNull(ticker, "ticker");
            return this;
        }

        /**
         * The retry policy of tasks that set none (default {@link RetryPolicy#defaults()}).
         *
         * @param policy the default retry policy
         * @return this builder
         */
        public Builder retryPolicy(RetryPolicy policy) {
            this.retryPolicy = Objects.requireNonNull(policy, "retryPolicy");
            return this;
        }

        /**
         * How dead workers are replaced (default {@link RestartPolicy#defaults()}).
         *
         * @param policy the restart policy
         * @return this builder
         */
        public Builder restartPolicy(RestartPolicy policy) {
            this.restartPolicy = Objects.requireNonNull(policy, "restartPolicy");
            return this;
        }

        /**
         * The most dead-letter entries kept (default 1000): 0 (none) to 1,000,000.
         *
         * @param capacity the most entries kept
         * @return this builder
         */
        public Builder deadLetterCapacity(int capacity) {
            if (capacity < 0 || capacity > 1_000_000) {
                throw new IllegalArgumentException("deadLetterCapacity must be between 0 and 1000000, was "
                        + capacity);
            }
            this.deadLetterCapacity = capacity;
            return this;
        }

        /**
         * The most bytes the dead-letter entries may hold together (default 64 MiB): 1 KiB to 1 TiB. The oldest
         * entries are evicted to stay within it; an entry larger than the whole bound is not kept.
         *
         * @param bytes the byte bound
         * @return this builder
         */
        public Builder deadLetterMaxBytes(long bytes) {
            if (bytes < MIN_DEAD_LETTER_MAX_BYTES || bytes > MAX_DEAD_LETTER_MAX_BYTES) {
                throw new IllegalArgumentException("deadLetterMaxBytes must be between " + MIN_DEAD_LETTER_MAX_BYTES
                        + " (1 KiB) and " + MAX_DEAD_LETTER_MAX_BYTES + " (1 TiB), was " + bytes);
            }
            this.deadLetterMaxBytes = bytes;
            return this;
        }

        /**
         * Memory use, as a fraction of the limit, above which no worker is started (default 0.75): more than 0, at
         * most 1 (1 turns the gate off).
         *
         * @param fraction the memory threshold as a fraction of the limit
         * @return this builder
         */
        public Builder spawnMemoryThreshold(double fraction) {
            if (!(fraction > 0.0 && fraction <= 1.0)) {
                throw new IllegalArgumentException("spawnMemoryThreshold must be more than 0 and at most 1, was "
                        + fraction);
            }
            this.spawnMemoryThreshold = fraction;
            return this;
        }

        /**
         * The load balancer of groups without their own (default {@link LoadBalancer#leastLoaded()}).
         *
         * @param balancer the default load balancer
         * @return this builder
         */
        public Builder loadBalancer(LoadBalancer balancer) {
            this.loadBalancer = Objects.requireNonNull(balancer, "loadBalancer");
            return this;
        }

        /**
         * The most tasks that may wait for a worker (default 100,000): 1 to 10,000,000.
         *
         * @param capacity the most waiting tasks
         * @return this builder
         */
        public Builder queueCapacity(int capacity) {
            if (capacity < 1 || capacity > 10_000_000) {
                throw new IllegalArgumentException("queueCapacity must be between 1 and 10000000, was " + capacity);
            }
            this.queueCapacity = capacity;
            return this;
        }

        /**
         * On a full queue, refuse new tasks at once with {@link TaskRejectedException.Kind#QUEUE_FULL} (default).
         *
         * @return this builder
         */
        public Builder rejectWhenFull() {
            this.blockWhenFull = null;
            return this;
        }

        /**
         * On a full queue, make {@code submitTask} wait up to {@code maxWait} for room, then refuse; positive.
         *
         * @param maxWait the longest wait for room
         * @return this builder
         */
        public Builder blockWhenFull(Duration maxWait) {
            this.blockWhenFull = positive("blockWhenFull", maxWait);
            return this;
        }

        /**
         * Lifts a waiting task one priority level per {@code step} it has waited (default 1 s), so that a stream of
         * urgent tasks cannot starve the others; positive.
         *
         * @param step the waiting time per priority level
         * @return this builder
         */
        public Builder priorityAging(Duration step) {
            this.priorityAgingStep = positive("priorityAging", step);
            return this;
        }

        /**
         * Strict priorities: a task of a lower priority runs only when no higher one waits.
         *
         * @return this builder
         */
        public Builder noPriorityAging() {
            this.priorityAgingStep = null;
            return this;
        }

        /**
         * How long task output stays retrievable after the task ended (default 5 min); positive.
         *
         * @param retention the retention time
         * @return this builder
         */
        public Builder outputRetention(Duration retention) {
            this.outputRetention = positive("outputRetention", retention);
            return this;
        }

        /**
         * The most output lines kept per task, the last ones (default 200): 0 (none) to 100,000.
         *
         * @param lines the most lines kept per task
         * @return this builder
         */
        public Builder maxTaskOutputLines(int lines) {
            if (lines < 0 || lines > 100_000) {
                throw new IllegalArgumentException("maxTaskOutputLines must be between 0 and 100000, was " + lines);
            }
            this.maxTaskOutputLines = lines;
            return this;
        }

        /**
         * Also writes each task's output to {@code <task id>-<worker pid>.log} in this directory, which is created
         * (readable by the owner only) if it does not exist.
         *
         * @param directory the directory of the task logs
         * @return this builder
         */
        public Builder taskLogDirectory(java.nio.file.Path directory) {
            this.taskLogDirectory = Objects.requireNonNull(directory, "taskLogDirectory");
            return this;
        }

        /**
         * Whether Java workers use a class-data-sharing archive made by the pool (default true).
         *
         * @param enabled {@code false} to start Java workers without an archive
         * @return this builder
         */
        public Builder classDataSharing(boolean enabled) {
            this.classDataSharing = enabled;
            return this;
        }

        /**
         * Where the class-data-sharing archives live (default {@code <java.io.tmpdir>/procpool-<user>}). The pool
         * creates the directory with mode 0700 and uses it only if it is a directory owned by the current user that
         * no one else can write to.
         *
         * @param directory the cache directory
         * @return this builder
         */
        public Builder workerCacheDirectory(java.nio.file.Path directory) {
            this.workerCacheDirectory = Objects.requireNonNull(directory, "workerCacheDirectory");
            return this;
        }

        /**
         * How task payloads are written as JSON at submit, and results read in {@link TaskResult#as(Class)} (default:
         * the pool's built-in Jackson mapper). Give the pool your application's Jackson mapper with
         * {@code payloadCodec(JacksonPayloads.using(mapper))} (package {@code dev.procpool.core.json}) to send what
         * it can write, such as {@code Instant} or {@code Optional} with its modules. Java handlers read payloads and
         * write results with their own codec ({@link TaskHandler#payloadCodec()}); workers in other languages read
         * plain JSON. The pool's own frames never go through this codec.
         *
         * @param codec the codec of payloads and results on the host
         * @return this builder
         */
        public Builder payloadCodec(PayloadCodec codec) {
            this.payloadCodec = Objects.requireNonNull(codec, "payloadCodec");
            return this;
        }

        /**
         * Registers a listener before the pool starts, so it sees the start-up events too.
         *
         * @param listener the listener to register
         * @return this builder
         */
        public Builder listener(PoolListener listener) {
            listeners.add(Objects.requireNonNull(listener, "listener"));
            return this;
        }

        /**
         * Where the pool keeps its tasks (default {@link TaskStore#inMemory()}): a durable store keeps them across a
         * crash of the host and, on PostgreSQL, shares one queue between the hosts with the same pool name. See
         * {@link TaskStore}.
         *
         * @param store the store
         * @return this builder
         */
        public Builder taskStore(TaskStore store) {
            this.taskStore = Objects.requireNonNull(store, "taskStore");
            return this;
        }

        /**
         * Adds a tracker that receives the pool's measurements from before its first worker is launched, e.g.
         * procpool-core's Micrometer binder: {@code .tracker(metrics)} with {@code metrics = new PoolMetrics()}.
         *
         * @param tracker the tracker to add
         * @return this builder
         */
        public Builder tracker(PoolTracker tracker) {
            trackers.add(Objects.requireNonNull(tracker, "tracker"));
            return this;
        }

        /**
         * Validates the combination of settings and returns the immutable configuration.
         *
         * @return the validated configuration
         * @throws IllegalStateException if no workers are configured, or both shortcuts and groups are used, or the
         *                               heartbeat timeout is shorter than twice the interval
         */
        public PoolConfig build() {
            List<WorkerGroup> all = new ArrayList<>(groups);
            if (spec != null || workers != null) {
                if (!groups.isEmpty()) {
                    throw new IllegalStateException("configure workers either with workers()/worker()/javaWorker()/"
                            + "command() or with group(), not both");
                }
                if (spec == null) {
                    throw new IllegalStateException("workers(" + workers + ") needs a worker kind: call javaWorker(), "
                            + "command() or worker()");
                }
                WorkerGroup.Builder group = WorkerGroup.builder(DEFAULT_GROUP, spec);
                if (workers != null) {
                    group.workers(workers);
                }
                all.add(group.build());
            }
            if (all.isEmpty()) {
                throw new IllegalStateException("no workers configured: call javaWorker(), command(), worker() or "
                        + "group()");
            }
            Set<String> names = new HashSet<>();
            for (WorkerGroup group : all) {
                if (!names.add(group.name())) {
                    throw new IllegalStateException("group names must be unique, \"" + group.name()
                            + "\" is used twice");
                }
            }
            if (heartbeatTimeout.compareTo(heartbeatInterval.multipliedBy(2)) < 0) {
                throw new IllegalStateException("heartbeatTimeout must be at least twice heartbeatInterval ("
                        + heartbeatInterval + "), was " + heartbeatTimeout);
            }
            if (taskStore instanceof TaskStore.Durable durable
                    && durable.leaseTimeout().compareTo(heartbeatInterval.multipliedBy(3)) < 0) {
                // leases are renewed every heartbeat: fewer than three chances before they expire is too few
                throw new IllegalStateException("the task store's leaseTimeout must be at least three heartbeat "
                        + "intervals (" + heartbeatInterval.multipliedBy(3) + "), was " + durable.leaseTimeout());
            }
            return new PoolConfig(this, all);
        }

        /**
         * Builds the configuration and starts a pool with it, returning once every worker has completed its
         * handshake.
         *
         * @return the running pool; close it when done
         * @throws WorkerStartupException if a worker cannot start; no worker is left running
         */
        public WorkerPool start() {
            return WorkerPool.start(build());
        }

        private static Duration positive(String setting, Duration value) {
            return Checks.positive(setting, value);
        }
    }
}
