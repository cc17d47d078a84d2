package dev.procpool.core.metrics;

import dev.procpool.FailureReason;
import dev.procpool.PoolSnapshot;
import dev.procpool.TaskRejectedException;
import dev.procpool.TaskStore;
import dev.procpool.Ticker;
import dev.procpool.WorkerPool;
import dev.procpool.WorkerSnapshot;
import dev.procpool.WorkerState;
import dev.procpool.spi.PoolTracker;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tag;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.binder.BaseUnits;
import io.micrometer.core.instrument.binder.MeterBinder;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumSet;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.function.ToDoubleFunction;
import java.util.function.ToLongFunction;

/**
 * Micrometer meters for one {@link WorkerPool}, after Micrometer's {@code ExecutorServiceMetrics} and HikariCP's
 * metrics tracker. It is a {@link MeterBinder} (bind it to one or more registries, before or after the pool starts)
 * and the pool's {@link PoolTracker} (give it to the pool when building it, so that it times the pool's first workers
 * too); close it to remove every meter it registered.
 *
 * <pre>{@code
 * PoolMetrics metrics = new PoolMetrics(Tags.of("service", "thumbnails"));
 * metrics.bindTo(registry);                      // now or later; meters appear once the pool exists
 * WorkerPool pool = WorkerPool.builder().name("resize").tracker(metrics)...start();
 * ...
 * pool.close();
 * metrics.close();   // removes the meters from every registry
 * }</pre>
 *
 * With Spring Boot, declare it as a bean: Boot binds every {@code MeterBinder} bean to its registry, and the pool bean
 * takes it as its tracker.
 *
 * <h2>What is measured</h2>
 * The names are the constants in {@link Names}; each is documented there with its type, unit and tags. Counters
 * are {@link FunctionCounter}s over the pool's exact running totals (so they agree with
 * {@link WorkerPool#snapshot()}); gauges read a snapshot of the pool; the wait, execution and spawn-to-ready
 * {@link Timer}s are fed by the pool as events happen. Units are base units: seconds for timers, bytes for
 * memory. Counters and gauges show the pool's whole life; timers what happened after the binder was given to the pool
 * and bound to the registry (both before {@code start()} for the first workers' start-up times).
 *
 * <h2>Tags</h2>
 * Every meter carries {@value Names#TAG_POOL}{@code =<pool name>} plus the extra tags given to the constructor.
 * Only bounded tags are added: {@value Names#TAG_STATE}, {@value Names#TAG_OUTCOME}, {@value Names#TAG_REASON}
 * (the lower-case name of a {@link FailureReason} or {@link TaskRejectedException.Kind}),
 * {@value Names#TAG_STAT} and {@value Names#TAG_OPERATION}. The {@code procpool.store.*} meters exist only for a
 * pool with a durable {@link TaskStore}. Never task ids, worker ids or pids: those would give every task or worker its own time
 * series. Counters by reason are registered for every enum constant up front, so a series exists (at 0) before
 * its first event and rates over it work.
 *
 * <h2>Percentiles</h2>
 * The library switches on no percentile histogram and no client-side percentile: their cost and their buckets are
 * the host's choice. Prometheus renders each timer as a summary ({@code _count}, {@code _sum}) plus a
 * {@code _max} gauge. To get histogram buckets, add a {@code MeterFilter} to the registry <em>before</em> binding:
 * <pre>{@code
 * registry.config().meterFilter(new MeterFilter() {
 *     public DistributionStatisticConfig configure(Meter.Id id, DistributionStatisticConfig config) {
 *         return id.getName().startsWith(PoolMetrics.Names.PREFIX + ".")
 *                 && id.getType() == Meter.Type.TIMER
 *                 ? DistributionStatisticConfig.builder().percentilesHistogram(true).build().merge(config)
 *                 : config;
 *     }
 * });
 * }</pre>
 * (With Spring Boot: {@code management.metrics.distribution.percentiles-histogram.procpool=true}.)
 *
 * <h2>Freshness and cost</h2>
 * A scrape reads a few dozen meters. So that it does not take the pool's lock a few dozen times, the pool
 * snapshot and the worker list are each read at most once per {@code cacheFor} (1 second by
 * default) and shared by the meters that need them; a value can therefore be up to {@code cacheFor} old. The cache
 * runs on the pool's {@link dev.procpool.PoolConfig#ticker() ticker}, so with a fake ticker the values move when
 * the ticker does; pass {@link Duration#ZERO} to read afresh on every meter. The timers record under the
 * pool's lock and never block.
 *
 * <h2>Thread-safety</h2>
 * All methods are thread-safe. {@link #bindTo(MeterRegistry)} may be called for several registries; binding a
 * registry a second time does nothing. {@link #close()} is idempotent; binding after it throws. One
 * {@code PoolMetrics} tracks one pool: giving it to a second pool fails that pool's start.
 *
 * <p>A little over 600 lines: it registers every meter of the README's reference in one place, with its name,
 * tags and help text, so that the list can be read against the documentation.
 */
public final class PoolMetrics implements MeterBinder, PoolTracker, AutoCloseable {

    /** The default for how long a read of the pool's state serves the meters. */
    public static final Duration DEFAULT_CACHE_FOR = Duration.ofSeconds(1);

    /**
     * Every meter name and tag key, in one place: renaming one changes what dashboards see, and a test pins them
     * as Prometheus renders them ({@code .} becomes {@code _}; counters get {@code _total}; the base unit is
     * appended, as in {@code procpool_task_wait_seconds}).
     */
    public static final class Names {
        private Names() {
        }

        /** The prefix of every meter name. */
        public static final String PREFIX = "procpool";

        // ---------------------------------------------------------------- workers

        /** Gauge: live workers, by {@value #TAG_STATE} = {@code idle | busy | unhealthy}. */
        public static final String WORKERS = PREFIX + ".workers";
        /** Counter: workers started, first ones and replacements alike. */
        public static final String WORKER_STARTS = PREFIX + ".worker.starts";
        /**
         * Counter: workers replaced after a failure, by {@value #TAG_REASON} (the lower-case {@link FailureReason}
         * that stopped the worker). Recycling a healthy worker is not a restart.
         */
        public static final String WORKER_RESTARTS = PREFIX + ".worker.restarts";
        /** Counter: workers declared zombies (heartbeats lost) and killed. */
        public static final String WORKER_ZOMBIES = PREFIX + ".worker.zombies";
        /**
         * Gauge, bytes: resident memory of the live workers, by {@value #TAG_STAT} = {@code total} (sum) or
         * {@code max} (the largest worker).
         */
        public static final String WORKER_MEMORY_RSS = PREFIX + ".worker.memory.rss";
        /** Timer, seconds: from launching a worker process to its {@code ready} frame. */
        public static final String WORKER_STARTUP = PREFIX + ".worker.startup";
        /** Gauge: tasks served per worker started (the higher, the better warm workers are reused). */
        public static final String WORKER_REUSE = PREFIX + ".worker.reuse";

        // ---------------------------------------------------------------- queue

        /** Gauge: tasks queued to run (not counting those waiting for a retry). */
        public static final String QUEUE_DEPTH = PREFIX + ".queue.depth";
        /** Gauge: failed tasks waiting out their backoff before they are queued again. */
        public static final String QUEUE_RETRY_WAITING = PREFIX + ".queue.retry.waiting";

        // ---------------------------------------------------------------- tasks

        /** Counter: tasks accepted by {@code submitTask}. */
        public static final String TASKS_SUBMITTED = PREFIX + ".tasks.submitted";
        /**
         * Counter: tasks that reached a terminal state, by {@value #TAG_OUTCOME} = {@code succeeded | failed |
         * dead_lettered | cancelled}, as the snapshot counts them: {@code failed} is a failure the retry policy does
         * not retry, {@code dead_lettered} a task the pool gave up retrying.
         */
        public static final String TASKS_COMPLETED = PREFIX + ".tasks.completed";
        /** Counter: failed attempts, retried or not, by {@value #TAG_REASON} (lower-case {@link FailureReason}). */
        public static final String TASKS_ATTEMPT_FAILURES = PREFIX + ".tasks.attempt.failures";
        /** Counter: failed attempts that were scheduled to be retried. */
        public static final String TASKS_RETRIED = PREFIX + ".tasks.retried";
        /**
         * Counter: submissions refused, by {@value #TAG_REASON} (lower-case {@link TaskRejectedException.Kind},
         * for example {@code queue_full}).
         */
        public static final String TASKS_REJECTED = PREFIX + ".tasks.rejected";
        /** Gauge: tasks running on workers now. */
        public static final String TASKS_INFLIGHT = PREFIX + ".tasks.inflight";
        /** Timer, seconds: time from being queued (or re-queued for a retry) to being dispatched to a worker. */
        public static final String TASK_WAIT = PREFIX + ".task.wait";
        /**
         * Timer, seconds: run time of an attempt, from dispatch to its end, by {@value #TAG_OUTCOME} =
         * {@code succeeded | failed}. Attempts ended by a cancel are not recorded.
         */
        public static final String TASK_EXECUTION = PREFIX + ".task.execution";

        // ---------------------------------------------------------------- dead letters

        /** Gauge: entries in the dead-letter queue now. */
        public static final String DEADLETTER_SIZE = PREFIX + ".deadletter.size";
        /** Counter: entries added to the dead-letter queue. */
        public static final String DEADLETTER_ADDED = PREFIX + ".deadletter.added";
        /** Counter: entries evicted from the full dead-letter queue to make room. */
        public static final String DEADLETTER_EVICTED = PREFIX + ".deadletter.evicted";

        // ---------------------------------------------------------------- a durable task store (only with one)

        /**
         * Timer, seconds: calls to the durable task store, by {@value #TAG_OPERATION} = {@code submit | claim |
         * record | renew} and {@value #TAG_OUTCOME} = {@code ok | unavailable}.
         */
        public static final String STORE_LATENCY = PREFIX + ".store.latency";
        /** Gauge: 1 while the store answers, 0 while it cannot be reached (the pool is DEGRADED then). */
        public static final String STORE_AVAILABLE = PREFIX + ".store.available";
        /** Gauge: hosts of the pool seen alive lately, this one included. */
        public static final String STORE_HOSTS = PREFIX + ".store.hosts";
        /** Gauge: tasks waiting in the store (queued, delayed, waiting to retry), read every few seconds. */
        public static final String STORE_QUEUED = PREFIX + ".store.queued";
        /** Counter: attempts of lost hosts this host closed with {@code HOST_LOST}. */
        public static final String STORE_RESCUED = PREFIX + ".store.rescued";
        /** Counter: answers discarded because this host's lease on the attempt had passed to another host. */
        public static final String STORE_FENCED = PREFIX + ".store.fenced";
        /** Counter: store calls that failed because the store could not be reached. */
        public static final String STORE_ERRORS = PREFIX + ".store.errors";

        // ---------------------------------------------------------------- tags

        /** Tag on every meter: the pool's name. */
        public static final String TAG_POOL = "pool";
        /** Tag of {@link #WORKERS}. */
        public static final String TAG_STATE = "state";
        /** Tag of {@link #TASKS_COMPLETED} and {@link #TASK_EXECUTION}. */
        public static final String TAG_OUTCOME = "outcome";
        /** Tag of {@link #TASKS_ATTEMPT_FAILURES}, {@link #TASKS_REJECTED} and {@link #WORKER_RESTARTS}. */
        public static final String TAG_REASON = "reason";
        /** Tag of {@link #WORKER_MEMORY_RSS}. */
        public static final String TAG_STAT = "stat";
        /** Tag of {@link #STORE_LATENCY}. */
        public static final String TAG_OPERATION = "operation";
        /** The operations {@link #STORE_LATENCY} times. */
        public static final List<String> STORE_OPERATIONS = List.of("submit", "claim", "record", "renew");

        /**
         * The reasons a worker can die for, so the only {@value #TAG_REASON} values of {@link #WORKER_RESTARTS}: a
         * handler error, an unknown task type, a cancel or a rejection never cost a worker.
         */
        public static final Set<FailureReason> RESTART_REASONS = Collections.unmodifiableSet(EnumSet.of(
                FailureReason.WORKER_CRASHED,
                FailureReason.OUT_OF_MEMORY, FailureReason.HUNG, FailureReason.TIMEOUT, FailureReason.PROTOCOL_ERROR,
                FailureReason.STARTUP_FAILURE));

        /** The tag keys this binder sets itself; extra tags may not use them. */
        public static final Set<String> RESERVED_TAGS = Set.of(TAG_POOL, TAG_STATE, TAG_OUTCOME, TAG_REASON, TAG_STAT,
                TAG_OPERATION);

        /**
         * The value of a {@value #TAG_REASON} tag for an enum constant: its lower-case name.
         *
         * @param constant a {@code FailureReason} or {@code TaskRejectedException.Kind}
         * @return its name in lower case, for example {@code worker_crashed}
         */
        public static String reason(Enum<?> constant) {
            return constant.name().toLowerCase(Locale.ROOT);
        }
    }

    private final Tags extraTags;
    private final long cacheForNanos;
    /** Registries bound; the value is null until the pool exists (its meters need the pool's name and state). */
    private final Map<MeterRegistry, Binding> bindings = new IdentityHashMap<>();
    private WorkerPool pool;
    private Reader reader;
    private Tags tags;
    private boolean closed;
    /** The timers of every registry bound, fed by the pool under its lock: copied on write, read without a lock. */
    private volatile Timers[] timers = new Timers[0];

    /** Meters tagged with the pool's name only, each read of the pool serving them for {@link #DEFAULT_CACHE_FOR}. */
    public PoolMetrics() {
        this(Tags.empty());
    }

    /**
     * Meters tagged with the pool's name and {@code extraTags}.
     *
     * @param extraTags tags added to every meter
     * @throws IllegalArgumentException if an extra tag uses a key the binder sets itself ({@link Names#RESERVED_TAGS})
     */
    public PoolMetrics(Iterable<Tag> extraTags) {
        this(extraTags, DEFAULT_CACHE_FOR);
    }

    /**
     * Meters tagged with the pool's name and {@code extraTags}; each read of the pool's state serves the meters for
     * {@code cacheFor} ({@link Duration#ZERO}: every meter reads afresh).
     *
     * @param extraTags tags added to every meter
     * @param cacheFor  how long one read of the pool's state serves the meters; zero or positive
     * @throws IllegalArgumentException if an extra tag uses a key the binder sets itself, or {@code cacheFor} is
     *                                  negative
     */
    public PoolMetrics(Iterable<Tag> extraTags, Duration cacheFor) {
        Objects.requireNonNull(extraTags, "extraTags");
        Objects.requireNonNull(cacheFor, "cacheFor");
        if (cacheFor.isNegative()) {
            throw new IllegalArgumentException("cacheFor must not be negative, was " + cacheFor);
        }
        Tags extra = Tags.of(extraTags);
        for (Tag tag : extra) {
            if (Names.RESERVED_TAGS.contains(tag.getKey())) {
                throw new IllegalArgumentException("extraTags must not use the key \"" + tag.getKey()
                        + "\": PoolMetrics sets " + Names.RESERVED_TAGS + " itself");
            }
        }
        this.extraTags = extra;
        this.cacheForNanos = cacheFor.toNanos();
    }

    /**
     * Registers the pool's meters in {@code registry}: at once if the pool exists, else as soon as it does. Binding
     * the same registry again does nothing.
     *
     * @throws IllegalStateException if this binder was closed
     */
    @Override
    public void bindTo(MeterRegistry registry) {
        Objects.requireNonNull(registry, "registry");
        synchronized (this) {
            if (closed) {
                throw new IllegalStateException(this + " is closed");
            }
            if (bindings.containsKey(registry)) {
                return;
            }
            bindings.put(registry, pool == null ? null : register(registry));
            publishTimers();
        }
    }

    /**
     * Called by the pool this binder was given to ({@code WorkerPool.builder().tracker(metrics)}), before its first
     * worker starts: registers the meters in every registry bound so far.
     *
     * @throws IllegalStateException if this binder already tracks another pool
     */
    @Override
    public void poolCreated(WorkerPool pool) {
        Objects.requireNonNull(pool, "pool");
        synchronized (this) {
            if (this.pool != null) {
                throw new IllegalStateException("this PoolMetrics already tracks pool \"" + this.pool.name()
                        + "\"; give each pool its own PoolMetrics (pool \"" + pool.name() + "\")");
            }
            this.pool = pool;
            this.tags = extraTags.and(Names.TAG_POOL, pool.name());
            this.reader = new Reader(pool, pool.config().ticker(), cacheForNanos);
            if (!closed) {
                bindings.replaceAll((registry, none) -> register(registry));
                publishTimers();
            }
        }
    }

    @Override
    public void taskDispatched(long waitNanos) {
        for (Timers t : timers) {
            t.wait.record(waitNanos, TimeUnit.NANOSECONDS);
        }
    }

    @Override
    public void attemptEnded(long runNanos, boolean succeeded) {
        for (Timers t : timers) {
            (succeeded ? t.succeeded : t.failed).record(runNanos, TimeUnit.NANOSECONDS);
        }
    }

    @Override
    public void workerReady(long startupNanos) {
        for (Timers t : timers) {
            t.startup.record(startupNanos, TimeUnit.NANOSECONDS);
        }
    }

    @Override
    public void storeCall(String operation, long nanos, boolean succeeded) {
        for (Timers t : timers) {
            Timer timer = t.store.get(succeeded ? operation : operation + "/unavailable");
            if (timer != null) {
                timer.record(nanos, TimeUnit.NANOSECONDS);
            }
        }
    }

    /** Removes every meter this binder registered from every registry it was bound to. Idempotent. */
    @Override
    public void close() {
        List<Map.Entry<MeterRegistry, Binding>> bound;
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
            bound = new ArrayList<>(bindings.entrySet());
            bindings.clear();
            publishTimers();
        }
        for (Map.Entry<MeterRegistry, Binding> entry : bound) {
            if (entry.getValue() != null) {
                for (Meter meter : entry.getValue().meters) {
                    entry.getKey().remove(meter);
                }
            }
        }
    }

    @Override
    public String toString() {
        synchronized (this) {
            return "PoolMetrics{" + (pool == null ? "no pool yet" : pool.name()) + ", registries=" + bindings.size()
                    + (closed ? ", closed" : "") + '}';
        }
    }

    private void publishTimers() {
        timers = bindings.values().stream().filter(Objects::nonNull).map(Binding::timers).toArray(Timers[]::new);
    }

    // ------------------------------------------------------------------ registration

    /** What one registry holds: every meter registered (to remove them) and the timers the pool feeds. */
    private record Binding(List<Meter> meters, Timers timers) {
    }

    private Binding register(MeterRegistry registry) {
        List<Meter> meters = new ArrayList<>();
        Reader r = reader;

        // workers
        meters.add(gauge(registry, Names.WORKERS, "Live workers by state", Tags.of(Names.TAG_STATE, "idle"), null,
                x -> r.snapshot().workers().idle()));
        meters.add(gauge(registry, Names.WORKERS, "Live workers by state", Tags.of(Names.TAG_STATE, "busy"), null,
                x -> r.snapshot().workers().busy()));
        meters.add(gauge(registry, Names.WORKERS, "Live workers by state", Tags.of(Names.TAG_STATE, "unhealthy"),
                null, x -> r.snapshot().workers().unhealthy()));
        meters.add(counter(registry, Names.WORKER_STARTS, "Workers started, replacements included", Tags.empty(),
                s -> s.performance().workersSpawned()));
        for (FailureReason reason : Names.RESTART_REASONS) {
            meters.add(counter(registry, Names.WORKER_RESTARTS, "Workers replaced after a failure, by reason",
                    Tags.of(Names.TAG_REASON, Names.reason(reason)),
                    s -> s.performance().restartsByReason().getOrDefault(reason, 0L)));
        }
        meters.add(counter(registry, Names.WORKER_ZOMBIES, "Workers declared zombies (heartbeats lost)",
                Tags.empty(), s -> s.performance().zombiesDetected()));
        meters.add(gauge(registry, Names.WORKER_MEMORY_RSS, "Resident memory of the live workers",
                Tags.of(Names.TAG_STAT, "total"), BaseUnits.BYTES, x -> r.rss().total()));
        meters.add(gauge(registry, Names.WORKER_MEMORY_RSS, "Resident memory of the live workers",
                Tags.of(Names.TAG_STAT, "max"), BaseUnits.BYTES, x -> r.rss().max()));
        meters.add(gauge(registry, Names.WORKER_REUSE, "Tasks served per worker started", Tags.empty(), null,
                x -> r.snapshot().performance().workerReuseRate()));

        // queue
        meters.add(gauge(registry, Names.QUEUE_DEPTH, "Tasks queued to run", Tags.empty(), null,
                x -> r.snapshot().queue().depth()));
        meters.add(gauge(registry, Names.QUEUE_RETRY_WAITING, "Failed tasks waiting to be retried", Tags.empty(),
                null, x -> r.snapshot().queue().waitingToRetry()));

        // tasks
        meters.add(counter(registry, Names.TASKS_SUBMITTED, "Tasks accepted", Tags.empty(),
                s -> s.tasks().submitted()));
        String completed = "Tasks that reached a terminal state, by outcome";
        meters.add(counter(registry, Names.TASKS_COMPLETED, completed, Tags.of(Names.TAG_OUTCOME, "succeeded"),
                s -> s.tasks().completed()));
        meters.add(counter(registry, Names.TASKS_COMPLETED, completed, Tags.of(Names.TAG_OUTCOME, "failed"),
                s -> s.tasks().failed()));
        meters.add(counter(registry, Names.TASKS_COMPLETED, completed, Tags.of(Names.TAG_OUTCOME, "dead_lettered"),
                s -> s.tasks().deadLettered()));
        meters.add(counter(registry, Names.TASKS_COMPLETED, completed, Tags.of(Names.TAG_OUTCOME, "cancelled"),
                s -> s.tasks().cancelled()));
        for (FailureReason reason : FailureReason.values()) {
            meters.add(counter(registry, Names.TASKS_ATTEMPT_FAILURES, "Failed attempts, by reason",
                    Tags.of(Names.TAG_REASON, Names.reason(reason)),
                    s -> s.tasks().attemptFailures().getOrDefault(reason, 0L)));
        }
        meters.add(counter(registry, Names.TASKS_RETRIED, "Failed attempts scheduled for a retry", Tags.empty(),
                s -> s.tasks().retried()));
        for (TaskRejectedException.Kind kind : TaskRejectedException.Kind.values()) {
            meters.add(counter(registry, Names.TASKS_REJECTED, "Submissions refused, by reason",
                    Tags.of(Names.TAG_REASON, Names.reason(kind)),
                    s -> s.tasks().rejectedByKind().getOrDefault(kind, 0L)));
        }
        meters.add(gauge(registry, Names.TASKS_INFLIGHT, "Tasks running on workers", Tags.empty(), null,
                x -> r.snapshot().tasks().running()));

        // dead letters
        meters.add(gauge(registry, Names.DEADLETTER_SIZE, "Entries in the dead-letter queue", Tags.empty(), null,
                x -> r.snapshot().deadLetters().size()));
        meters.add(counter(registry, Names.DEADLETTER_ADDED, "Entries added to the dead-letter queue", Tags.empty(),
                s -> s.deadLetters().added()));
        meters.add(counter(registry, Names.DEADLETTER_EVICTED, "Entries evicted from the full dead-letter queue",
                Tags.empty(), s -> s.deadLetters().evicted()));

        // timers, fed by the pool; no histogram or percentiles here: the host decides (see the class doc)
        Timer wait = timer(registry, Names.TASK_WAIT, "Time tasks waited in the queue before dispatch", Tags.empty());
        Timer succeeded = timer(registry, Names.TASK_EXECUTION, "Run time of attempts, by outcome",
                Tags.of(Names.TAG_OUTCOME, "succeeded"));
        Timer failed = timer(registry, Names.TASK_EXECUTION, "Run time of attempts, by outcome",
                Tags.of(Names.TAG_OUTCOME, "failed"));
        Timer startup = timer(registry, Names.WORKER_STARTUP, "Time from launching a worker to its ready frame",
                Tags.empty());
        meters.addAll(List.of(wait, succeeded, failed, startup));
        Map<String, Timer> store = pool.config().taskStore() instanceof TaskStore.Durable
                ? registerStore(registry, meters) : Map.of();
        return new Binding(List.copyOf(meters), new Timers(wait, succeeded, failed, startup, store));
    }

    /** The meters of a durable task store; returns its latency timers by operation ("op" and "op/unavailable"). */
    private Map<String, Timer> registerStore(MeterRegistry registry, List<Meter> meters) {
        Reader r = reader;
        meters.add(gauge(registry, Names.STORE_AVAILABLE, "1 while the task store answers, 0 while it cannot be "
                + "reached", Tags.empty(), null, x -> r.snapshot().store().available() ? 1 : 0));
        meters.add(gauge(registry, Names.STORE_HOSTS, "Hosts of the pool seen alive lately", Tags.empty(), null,
                x -> r.snapshot().store().hosts()));
        meters.add(gauge(registry, Names.STORE_QUEUED, "Tasks waiting in the task store", Tags.empty(), null,
                x -> r.snapshot().store().queued()));
        meters.add(counter(registry, Names.STORE_RESCUED, "Attempts of lost hosts closed by this host (host_lost)",
                Tags.empty(), s -> s.store().rescuedAttempts()));
        meters.add(counter(registry, Names.STORE_FENCED, "Late answers discarded: the lease had passed to another "
                + "host", Tags.empty(), s -> s.store().fencedAnswers()));
        meters.add(counter(registry, Names.STORE_ERRORS, "Task store calls that failed: the store could not be "
                + "reached", Tags.empty(), s -> s.store().errors()));
        Map<String, Timer> timers = new java.util.HashMap<>();
        for (String operation : Names.STORE_OPERATIONS) {
            for (boolean ok : new boolean[] {true, false}) {
                Timer timer = timer(registry, Names.STORE_LATENCY, "Calls to the durable task store",
                        Tags.of(Names.TAG_OPERATION, operation, Names.TAG_OUTCOME, ok ? "ok" : "unavailable"));
                meters.add(timer);
                timers.put(ok ? operation : operation + "/unavailable", timer);
            }
        }
        return Map.copyOf(timers);
    }

    private Gauge gauge(MeterRegistry registry, String name, String description, Tags extra, String baseUnit,
                        ToDoubleFunction<Reader> value) {
        Reader r = reader;
        return Gauge.builder(name, r, value)
                .strongReference(true)
                .tags(tags.and(extra))
                .description(description)
                .baseUnit(baseUnit)
                .register(registry);
    }

    private FunctionCounter counter(MeterRegistry registry, String name, String description, Tags extra,
                                    ToLongFunction<PoolSnapshot> value) {
        Reader r = reader;
        // FunctionCounter holds its state object weakly; the lambda holds the reader strongly.
        return FunctionCounter.builder(name, r, ignored -> value.applyAsLong(r.snapshot()))
                .tags(tags.and(extra))
                .description(description)
                .register(registry);
    }

    private Timer timer(MeterRegistry registry, String name, String description, Tags extra) {
        return Timer.builder(name)
                .tags(tags.and(extra))
                .description(description)
                .register(registry);
    }

    // ------------------------------------------------------------------ reading the pool

    private record Rss(long total, long max) {
    }

    /** Reads the pool's state at most once per TTL for all the meters of a scrape. */
    private static final class Reader {
        private final WorkerPool pool;
        private final Ticker ticker;
        private final long ttlNanos;
        private final Cached<PoolSnapshot> snapshot = new Cached<>();
        private final Cached<Rss> rss = new Cached<>();

        Reader(WorkerPool pool, Ticker ticker, long ttlNanos) {
            this.pool = pool;
            this.ticker = ticker;
            this.ttlNanos = ttlNanos;
        }

        PoolSnapshot snapshot() {
            return snapshot.get(this, WorkerPool::snapshot);
        }

        Rss rss() {
            return rss.get(this, p -> {
                long total = 0;
                long max = 0;
                for (WorkerSnapshot worker : p.workers()) {
                    if (worker.state() != WorkerState.DEAD) {
                        total += worker.rssBytes();
                        max = Math.max(max, worker.rssBytes());
                    }
                }
                return new Rss(total, max);
            });
        }
    }

    /** One cached value, read at most once per TTL; each cache has its own monitor. */
    private static final class Cached<T> {
        private T value;
        private long readAt;

        synchronized T get(Reader reader, Function<WorkerPool, T> read) {
            long now = reader.ticker.read();
            if (value == null || reader.ttlNanos == 0 || now - readAt >= reader.ttlNanos) {
                value = read.apply(reader.pool);
                readAt = now;
            }
            return value;
        }
    }

    /**
     * The timers of one registry. Compared by identity (not a record): meters equal by id, and the same ids live
     * in every registry bound.
     */
    private static final class Timers {
        final Timer wait;
        final Timer succeeded;
        final Timer failed;
        final Timer startup;
        /** The store's latency timers by operation ("op", "op/unavailable"); empty in memory. */
        final Map<String, Timer> store;

        Timers(Timer wait, Timer succeeded, Timer failed, Timer startup, Map<String, Timer> store) {
            this.wait = wait;
            this.succeeded = succeeded;
            this.failed = failed;
            this.startup = startup;
            this.store = store;
        }
    }
}
