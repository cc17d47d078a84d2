package dev.procpool.core.internal.engine;

import dev.procpool.FailureReason;
import dev.procpool.HealthStatus;
import dev.procpool.PoolEvent;
import dev.procpool.PoolHealth;
import dev.procpool.PoolState;
import dev.procpool.WorkerGroup;
import dev.procpool.WorkerState;
import dev.procpool.core.internal.process.ExitStatus;
import dev.procpool.core.internal.process.SafeText;
import dev.procpool.core.internal.protocol.Frame;
import dev.procpool.core.internal.supervise.Deadlines;
import dev.procpool.core.internal.supervise.HealthChecks;
import dev.procpool.core.internal.supervise.MemoryGate;
import dev.procpool.core.internal.supervise.MemoryProbe;
import dev.procpool.core.internal.supervise.Recycling;
import dev.procpool.core.internal.text.Units;
import dev.procpool.core.internal.Loggers;
import org.slf4j.Logger;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.BooleanSupplier;
import java.util.function.BiConsumer;

/**
 * The workers: keeping each group at its size (spawning, hot spares, replacements with restart backoff and the
 * intensity limit), the memory gate, recycling, scaling, and the health checks maintenance makes. It decides with the
 * pure verdicts of {@code supervise/} and {@code scale/}; the engine calls it under its lock and sequences it with the
 * task side. Launching is handed to the engine's launcher, which runs it as a slow effect.
 *
 * <p>A little over 600 lines: the decisions are in the verdict classes; what stays here is applying them to the
 * worker records under the lock, one short method per event, which reads best in one place.
 */
final class Supervisor {
    private static final Logger LOG = Loggers.pool();

    private final EngineContext ctx;
    private final Counters counters;
    private final MemoryProbe memory;
    private final MemoryGate gate;
    private final WorkerStops stops;
    /** Launches a new worker record (and whether it starts as a hot spare): the engine's launcher. */
    private final BiConsumer<WorkerRecord, Boolean> launcher;
    /** Whether the pool accepts tasks (running or degraded): recycled workers are replaced only then. */
    private final BooleanSupplier acceptsTasks;
    final List<WorkerRecord> workers = new ArrayList<>();
    final Map<String, GroupRuntime> groups = new LinkedHashMap<>();
    /** The same groups, for the checks every submit makes: a loop by index allocates no iterator. */
    private final List<GroupRuntime> groupList = new ArrayList<>();
    private int workerCounter;
    /** Tasks served by workers that have exited, for the reuse rate. */
    long servedByDeadWorkers;
    private long oomKillsSeen = -1;

    Supervisor(EngineContext ctx, Counters counters, MemoryProbe memory, WorkerStops stops,
               BiConsumer<WorkerRecord, Boolean> launcher, BooleanSupplier acceptsTasks) {
        this.acceptsTasks = acceptsTasks;
        this.ctx = ctx;
        this.counters = counters;
        this.memory = memory;
        this.stops = stops;
        this.launcher = launcher;
        this.gate = new MemoryGate(ctx.config.spawnMemoryThreshold());
        for (WorkerGroup group : ctx.config.groups()) {
            groups.put(group.name(), new GroupRuntime(group, ctx.config.restartPolicy(), ctx.name()));
        }
        groupList.addAll(groups.values());
    }

    // ------------------------------------------------------------------ spawning

    /** Launches every group's first workers and hot spares. */
    List<WorkerRecord> startAll(Effects fx) {
        oomKillsSeen = memory.oomKills();
        List<WorkerRecord> started = new ArrayList<>();
        for (GroupRuntime group : groups.values()) {
            for (int i = 0; i < group.target + group.config.hotSpares(); i++) {
                started.add(spawn(group, fx));
            }
        }
        return started;
    }

    private WorkerRecord spawn(GroupRuntime group, Effects fx) {
        ctx.assertLocked();
        long now = ctx.now();
        WorkerRecord worker = new WorkerRecord("w-" + (++workerCounter), group, now);
        worker.spare = activeMembers(group) >= group.target;
        WorkerGroup settings = group.config;
        // Each worker's recycling limits are spread by up to 10 % so a group's workers do not recycle together.
        double spread = 1 - 0.1 * ctx.random.getAsDouble();
        settings.recycleAfterTasks().ifPresent(n -> worker.recycleAfterTasks = Math.max(1, (long) Math.ceil(n * spread)));
        settings.recycleAfterAge().ifPresent(age -> worker.recycleAtAge = now + (long) (age.toNanos() * spread));
        workers.add(worker);
        counters.workersStarted++;
        boolean spare = worker.spare;
        fx.slow(() -> launcher.accept(worker, spare));
        ctx.dueAt(now + ctx.config.startupTimeout().toNanos());
        return worker;
    }

    /** Schedules starts, due at {@code dueAt}, until the group has its size plus its hot spares. */
    void topUp(GroupRuntime group, long dueAt) {
        long live = workers.stream().filter(w -> w.group == group && !w.isStopping() && !w.retireWhenIdle).count();
        for (long i = live + group.pendingSpawns.size(); i < group.target + group.config.hotSpares(); i++) {
            group.pendingSpawns.add(dueAt);
        }
        ctx.dueAt(dueAt);
    }

    /** Tops every group up: a worker that was ready but died while the others started is replaced now. */
    void topUpAll() {
        long now = ctx.now();
        for (GroupRuntime group : groups.values()) {
            topUp(group, now);
        }
    }

    /** Lets ready hot spares take the places of workers the group lacks. */
    void promoteSpares(GroupRuntime group) {
        long active = activeMembers(group);
        for (WorkerRecord worker : workers) {
            if (active >= group.target) {
                return;
            }
            if (worker.group == group && worker.spare && worker.isReady() && !worker.isStopping()) {
                worker.spare = false;
                active++;
                LOG.info("hot spare {} of group \"{}\" takes over", worker, group.name());
            }
        }
    }

    /** A worker that is dying (its stdout ended) but not yet gone: a ready hot spare of its group takes over now. */
    void promoteSpareFor(WorkerRecord dying) {
        for (WorkerRecord worker : workers) {
            if (worker.group == dying.group && worker.spare && worker.isReady() && !worker.isStopping()) {
                worker.spare = false;
                LOG.info("hot spare {} of group \"{}\" takes over from {}, whose output ended", worker,
                        dying.group.name(), dying);
                return;
            }
        }
    }

    private long activeMembers(GroupRuntime group) {
        return workers.stream().filter(w -> w.group == group && w.isActiveMember()).count();
    }

    /** Starts the replacement workers that are due, while the memory gate is open. */
    void spawnDue(long now, Effects fx) {
        for (GroupRuntime group : groups.values()) {
            while (!group.pendingSpawns.isEmpty() && group.pendingSpawns.peek() - now <= 0) {
                if (gate.isClosed()) {
                    return;
                }
                group.pendingSpawns.poll();
                spawn(group, fx);
            }
        }
    }

    /** Forgets every start not yet made (the pool is stopping). */
    void cancelPendingSpawns() {
        groups.values().forEach(group -> group.pendingSpawns.clear());
    }

    // ------------------------------------------------------------------ workers' lives

    /** A worker sent {@code ready}; returns whether it now serves (false: ignored or refused). */
    boolean onReady(WorkerRecord worker, Frame.Ready ready, long now, Effects fx) {
        if (worker.state != WorkerState.STARTING || worker.isStopping()) {
            LOG.warn("worker {} sent ready {}; ignored", worker, worker.isStopping() ? "while being stopped" : "twice");
            return false;
        }
        if (ready.protocol() != dev.procpool.core.internal.protocol.FrameCodec.PROTOCOL_VERSION) {
            stops.begin(worker, FailureReason.STARTUP_FAILURE, "the worker speaks protocol version "
                    + ready.protocol() + " but the host speaks "
                    + dev.procpool.core.internal.protocol.FrameCodec.PROTOCOL_VERSION, WorkerStops.Mode.KILL, fx);
            return false;
        }
        worker.state = WorkerState.IDLE;
        worker.readyAt = now;
        worker.idleSince = now;
        worker.taskTypes = Set.copyOf(ready.taskTypes());
        worker.capabilities = GroupRuntime.union(worker.group.config.capabilities(), Set.copyOf(ready.capabilities()));
        worker.maxConcurrency = Math.min(ready.maxConcurrency(), worker.group.config.maxConcurrency());
        GroupRuntime group = worker.group;
        if (group.announcedTaskTypes == null || !worker.taskTypes.isEmpty()) {
            group.announcedTaskTypes = worker.taskTypes;
        }
        group.announcedCapabilities = GroupRuntime.union(
                group.announcedCapabilities == null ? Set.of() : group.announcedCapabilities,
                Set.copyOf(ready.capabilities()));
        Duration startup = Duration.ofNanos(now - worker.launchedAt);
        ctx.trackers.workerReady(now - worker.launchedAt);
        LOG.debug("worker {} ready in {}, serving {}", worker, Units.duration(startup),
                worker.taskTypes.isEmpty() ? "any type" : SafeText.escape(worker.taskTypes.toString()));
        if (ctx.listening()) {
            ctx.publish(new PoolEvent.WorkerStarted(ctx.name(), ctx.clock.instant(), worker.id, group.name(),
                    worker.pid, startup));
        }
        fx.quick(() -> worker.ready.complete(null));
        if (group.cannotStart) {
            LOG.info("group \"{}\" of pool {} started a worker again; its tasks are accepted again", group.name(),
                    ctx.name());
        }
        group.startFailuresInARow = 0;
        group.cannotStart = false;
        promoteSpares(group);
        ctx.dueAt(now + ctx.config.heartbeatTimeout().toNanos());
        return true;
    }

    /** A worker's process has exited: it is dead from now on; returns why its tasks end. */
    FailureReason onExit(WorkerRecord worker, ExitStatus status, long oomKills) {
        boolean wasStarting = worker.state == WorkerState.STARTING;
        worker.state = WorkerState.DEAD;
        worker.exitStatus = status;
        workers.remove(worker);
        servedByDeadWorkers += worker.tasksServed;
        boolean kernelOomKill = oomKills > oomKillsSeen && oomKillsSeen >= 0;
        if (oomKills >= 0) {
            oomKillsSeen = oomKills;
        }
        if (worker.stopCause == null && !worker.isStopping()) {
            String tail = worker.process == null ? "(no output)" : worker.process.output().text();
            worker.stopCause = wasStarting ? FailureReason.STARTUP_FAILURE : classifyExit(status, tail, kernelOomKill);
            // one line: the whole tail went to the log as the worker wrote it (dev.procpool.worker), and goes
            // with the failed attempts of its tasks
            String lastLine = tail.lines().filter(line -> !line.isBlank()).reduce((a, b) -> b).orElse("(no output)");
            LOG.warn("worker {} exited unexpectedly: {} ({}); its last output line: {}", worker, status,
                    worker.stopCause, lastLine);
        }
        if (ctx.listening()) {
            ctx.publish(new PoolEvent.WorkerExited(ctx.name(), ctx.clock.instant(), worker.id, worker.group.name(),
                    worker.pid, status.toString(), worker.stopCause));
        }
        return worker.stopCause != null ? worker.stopCause : FailureReason.WORKER_CRASHED;
    }

    /**
     * A worker of the group could not be launched or exited before {@code ready}. Returns whether the group now
     * cannot start workers: too many failures in a row and none of its workers ready.
     */
    boolean startFailed(WorkerRecord worker, String cause) {
        GroupRuntime group = worker.group;
        group.startFailuresInARow++;
        group.lastStartFailure = cause;
        if (group.cannotStart || group.startFailuresInARow < ctx.config.restartPolicy().startFailuresBeforeFailingTasks()
                || workers.stream().anyMatch(w -> w.group == group && w.isReady())) {
            return false;
        }
        group.cannotStart = true;
        LOG.error("group \"{}\" of pool {} could not start a worker {} times in a row; failing the tasks only it can "
                + "run and refusing new ones until a worker starts (it keeps trying). The last failure: {}",
                group.name(), ctx.name(), group.startFailuresInARow, cause);
        return true;
    }

    /**
     * A worker is stopped (SIGSTOP, or a debugger) before sending {@code ready}: heartbeats are not watched before
     * ready, so without this it would hold its place for the whole start-up timeout. It is killed and replaced.
     */
    void stoppedBeforeReady(WorkerRecord worker, Effects fx) {
        if (worker.state != WorkerState.STARTING || worker.isStopping()) {
            return; // a ready worker that stops is found by its missing heartbeats
        }
        LOG.warn("worker {} is stopped (SIGSTOP) before it was ready; killing it", worker);
        stops.begin(worker, FailureReason.STARTUP_FAILURE, "was stopped (SIGSTOP) before it was ready",
                WorkerStops.Mode.KILL, fx);
    }

    /** Whether some group that may serve this routing can start workers. */
    boolean canRunSomewhere(TaskRecord.RoutingKey key) {
        for (int i = 0; i < groupList.size(); i++) {
            GroupRuntime group = groupList.get(i);
            if (group.mayServe(key) && !group.cannotStart) {
                return true;
            }
        }
        return false;
    }

    /** Why tasks with this routing cannot run: the groups that may serve it and their last start failures. */
    String whyCannotStart(TaskRecord.RoutingKey key) {
        StringBuilder why = new StringBuilder();
        for (GroupRuntime group : groups.values()) {
            if (group.mayServe(key)) {
                why.append(why.length() == 0 ? "" : "; ").append("group \"").append(group.name())
                        .append("\" failed to start a worker ").append(group.startFailuresInARow)
                        .append(" times in a row, the last: ").append(group.lastStartFailure);
            }
        }
        return why.toString();
    }

    /** How a worker that the pool did not stop died. */
    static FailureReason classifyExit(ExitStatus status, String outputTail, boolean kernelOomKill) {
        if (outputTail.contains("java.lang.OutOfMemoryError")) {
            return FailureReason.OUT_OF_MEMORY; // reported, or -XX:+ExitOnOutOfMemoryError's "Terminating due to"
        }
        if (status.killedBySigkill() && kernelOomKill) {
            return FailureReason.OUT_OF_MEMORY;
        }
        return FailureReason.WORKER_CRASHED;
    }

    /**
     * A worker is gone (exited, or could not be launched): replaces it when the pool still needs it, at once when it
     * retired on purpose, after the restart backoff when it failed.
     *
     * @param needed whether the pool still runs tasks that need workers
     */
    void replace(WorkerRecord worker, boolean needed, Effects fx) {
        GroupRuntime group = worker.group;
        if (!needed) {
            return;
        }
        long now = ctx.now();
        promoteSpares(group);
        long live = workers.stream().filter(w -> w.group == group && !w.isStopping() && !w.retireWhenIdle)
                .count() + group.pendingSpawns.size();
        if (live >= group.target + group.config.hotSpares()) {
            return;
        }
        if (worker.stopCause == null) {
            topUp(group, now); // retired on purpose (recycling): replace at once, it is not a failure
        } else {
            long delay = group.restarts.recordFailure(now, ctx.random.getAsDouble());
            counters.restarts++;
            counters.restartsByReason.merge(worker.stopCause, 1L, Long::sum);
            topUp(group, now + delay);
            LOG.info("replacing worker {} of group \"{}\" ({}) in {}", worker.id, group.name(), worker.stopCause,
                    Units.nanos(delay));
            if (ctx.listening()) {
                ctx.publish(new PoolEvent.WorkerRestarting(ctx.name(), ctx.clock.instant(), group.name(), worker.id,
                        worker.stopCause, Duration.ofNanos(delay)));
            }
        }
        spawnDue(now, fx);
    }

    /** Whether some group restarted more workers than its policy allows within the window ending at {@code now}. */
    boolean restartsOverLimit(long now) {
        return groups.values().stream().anyMatch(g -> g.restarts.isOverLimit(now));
    }

    /** When the oldest restart in some group's window leaves it (the pool may then recover), or NEVER. */
    long nextRestartExpiry() {
        long next = Deadlines.NEVER;
        long window = ctx.config.restartPolicy().window().toNanos();
        for (GroupRuntime group : groups.values()) {
            long oldest = group.restarts.oldestRestart();
            if (oldest != Deadlines.NEVER) {
                next = Deadlines.earlier(next, oldest + window);
            }
        }
        return next;
    }

    /** Whether some group scales automatically and may still grow. */
    boolean mayGrow() {
        for (GroupRuntime group : groups.values()) {
            if (group.min < group.max && group.target < group.max) {
                return true;
            }
        }
        return false;
    }

    // ------------------------------------------------------------------ memory and recycling

    /** A new reading of memory in use; logs when the gate opens or closes. */
    void memoryUsage(MemoryProbe.Usage usage) {
        if (gate.update(usage)) {
            LOG.warn("pool {}: memory gate {}: {} in use, threshold {} %", ctx.name(),
                    gate.isClosed() ? "closed, no worker will start" : "open again", usage,
                    Math.round(gate.threshold() * 100));
        }
    }

    void recordRss(WorkerRecord worker, long rss, Effects fx) {
        worker.rssBytes = rss;
        for (TaskRecord task : worker.inFlight.values()) {
            task.peakRssBytes = Math.max(task.peakRssBytes, rss);
        }
        if (worker.isStopping() || !worker.isReady()) {
            return;
        }
        WorkerGroup group = worker.group.config;
        switch (Recycling.memory(rss, group.memorySoftLimitBytes(), group.memoryHardLimitBytes())) {
            case OVER_HARD_LIMIT -> {
                LOG.warn("worker {} uses {} bytes, over the hard limit of {}; killing it", worker, rss,
                        group.memoryHardLimitBytes().getAsLong());
                stops.begin(worker, FailureReason.OUT_OF_MEMORY, "resident memory " + rss
                        + " bytes exceeded the hard limit of " + group.memoryHardLimitBytes().getAsLong(),
                        WorkerStops.Mode.KILL, fx);
            }
            case OVER_SOFT_LIMIT -> {
                if (!worker.retireWhenIdle) {
                    retire(worker, "resident memory " + rss + " bytes exceeded the soft limit of "
                            + group.memorySoftLimitBytes().getAsLong(), true, fx);
                }
            }
            case WITHIN -> {
            }
        }
    }

    /** Retires a worker between tasks once it has served its tasks or reached its age. */
    void retireIfDue(WorkerRecord worker, long now, Effects fx) {
        if (worker.isStopping() || worker.retireWhenIdle) {
            if (worker.retireWhenIdle && worker.inFlight.isEmpty()) {
                stops.begin(worker, null, worker.retireWhy, WorkerStops.Mode.ASK, fx);
            }
            return;
        }
        String why = Recycling.dueReason(worker.tasksServed, worker.recycleAfterTasks, now, worker.recycleAtAge);
        if (why != null) {
            retire(worker, why, true, fx);
        }
    }

    /** Takes a worker out of rotation; it stops once its current tasks end, and is replaced at once if asked. */
    void retire(WorkerRecord worker, String why, boolean replace, Effects fx) {
        worker.retireWhenIdle = true;
        worker.retireWhy = why;
        GroupRuntime group = worker.group;
        if (replace) {
            LOG.info("recycling worker {}: {}", worker, why);
            if (ctx.listening()) {
                ctx.publish(new PoolEvent.WorkerRecycled(ctx.name(), ctx.clock.instant(), worker.id, group.name(),
                        why));
            }
        }
        if (replace && acceptsTasks.getAsBoolean()) {
            promoteSpares(group);
            topUp(group, ctx.now()); // start the replacement now, so capacity does not dip
            spawnDue(ctx.now(), fx);
        }
        if (worker.inFlight.isEmpty()) {
            stops.begin(worker, null, why, WorkerStops.Mode.ASK, fx);
        }
    }

    // ------------------------------------------------------------------ checks

    /**
     * The checks of one worker at {@code now}: stop escalation, start-up timeout, heartbeats, the restart backoff's
     * stability, task timeouts and recycling. Returns when this worker next needs a look.
     */
    long check(WorkerRecord worker, long now, Effects fx) {
        if (worker.isStopping()) {
            stops.escalate(worker, now, fx);
            return worker.process == null ? Deadlines.NEVER : stops.dueAt(worker);
        }
        long startup = ctx.config.startupTimeout().toNanos();
        long heartbeat = ctx.config.heartbeatTimeout().toNanos();
        boolean starting = worker.state == WorkerState.STARTING;
        switch (HealthChecks.worker(starting, worker.launchedAt, worker.lastFrameAt, now, startup, heartbeat)) {
            case STARTUP_TIMED_OUT -> {
                stops.begin(worker, FailureReason.STARTUP_FAILURE, "did not send ready within "
                        + Units.duration(ctx.config.startupTimeout()), WorkerStops.Mode.KILL, fx);
                return stops.dueAt(worker);
            }
            case SILENT -> {
                Duration silence = Duration.ofNanos(now - worker.lastFrameAt);
                LOG.warn("worker {} sent nothing for {} (heartbeat timeout {}); killing it as a zombie",
                        worker, Units.duration(silence), Units.duration(ctx.config.heartbeatTimeout()));
                counters.zombies++;
                if (ctx.listening()) {
                    ctx.publish(new PoolEvent.ZombieDetected(ctx.name(), ctx.clock.instant(), worker.id, worker.pid,
                            silence));
                }
                stops.begin(worker, FailureReason.HUNG, "no heartbeat for " + Units.duration(silence), WorkerStops.Mode.TERMINATE,
                        fx);
                return stops.dueAt(worker);
            }
            case HEALTHY -> {
            }
        }
        long due = HealthChecks.workerDue(starting, worker.launchedAt, worker.lastFrameAt, startup, heartbeat);
        if (starting) {
            return due;
        }
        long window = ctx.config.restartPolicy().window().toNanos();
        if (!worker.stable) {
            if (now - worker.readyAt >= window) {
                worker.stable = true;
                worker.group.restarts.recordStable();
            } else {
                due = Deadlines.earlier(due, worker.readyAt + window);
            }
        }
        due = Deadlines.earlier(due, checkTasks(worker, now, fx));
        if (!worker.isStopping() && worker.inFlight.isEmpty()) {
            retireIfDue(worker, now, fx);
            if (!worker.retireWhenIdle) {
                due = Deadlines.earlier(due, worker.recycleAtAge);
            }
        }
        return worker.isStopping() ? stops.dueAt(worker) : due;
    }

    /** Task timeouts on one worker: a cancel at the timeout, the worker stopped after the grace period. */
    private long checkTasks(WorkerRecord worker, long now, Effects fx) {
        long due = Deadlines.NEVER;
        for (TaskRecord task : worker.inFlight.values()) {
            // a task that ended while running (cancelled) cannot time out; its worker must still let go in time
            boolean toldToStop = task.timedOut || task.state.isTerminal();
            switch (HealthChecks.task(task.deadline, toldToStop, task.cancelKillAt, now)) {
                case TIMED_OUT -> {
                    task.timedOut = true;
                    task.cancelKillAt = now + ctx.config.cancelGracePeriod().toNanos();
                    LOG.info("task {} timed out after {} on worker {}; cancelling it", task.id,
                            Units.nanos(task.timeoutNanos), worker.id);
                    fx.send(worker, ctx.codec.encodeCancel(task.id));
                }
                case CANCEL_GRACE_OVER -> {
                    stops.begin(worker, task.timedOut ? FailureReason.TIMEOUT : FailureReason.WORKER_CRASHED,
                            "did not end task " + task.id + " within the cancel grace period "
                                    + Units.duration(ctx.config.cancelGracePeriod()), WorkerStops.Mode.TERMINATE, fx);
                    return stops.dueAt(worker);
                }
                case IN_TIME -> {
                }
            }
            due = Deadlines.earlier(due, HealthChecks.taskDue(task.deadline, toldToStop || task.timedOut,
                    task.cancelKillAt));
        }
        return due;
    }

    /** The earliest scheduled worker start, or {@link Deadlines#NEVER}. */
    long nextSpawnDue() {
        long next = Deadlines.NEVER;
        for (GroupRuntime group : groups.values()) {
            Long spawn = group.pendingSpawns.peek();
            if (spawn != null) {
                next = Deadlines.earlier(next, spawn);
            }
        }
        return next;
    }

    // ------------------------------------------------------------------ views

    boolean memoryGateClosed() {
        return gate.isClosed();
    }

    PoolHealth health(PoolState state, long now) {
        List<String> alerts = new ArrayList<>();
        HealthStatus status = HealthStatus.HEALTHY;
        if (state == PoolState.DEGRADED) {
            status = HealthStatus.DEGRADED;
            for (GroupRuntime group : groups.values()) {
                int restarts = group.restarts.restartsInWindow(now);
                if (restarts > ctx.config.restartPolicy().maxRestarts()) {
                    alerts.add("restart intensity exceeded in group " + group.name() + ": " + restarts
                            + " restarts within " + Units.duration(ctx.config.restartPolicy().window()));
                }
            }
        }
        MemoryProbe.Usage usage = gate.lastUsage();
        if (gate.isClosed() && usage != null) {
            status = HealthStatus.DEGRADED;
            alerts.add("memory gate closed: " + Math.round(usage.fraction() * 100) + " % of "
                    + usage.limitBytes() + " bytes in use (" + usage.source() + "), threshold "
                    + Math.round(ctx.config.spawnMemoryThreshold() * 100) + " %; " + pendingSpawnCount()
                    + " worker starts waiting");
        }
        if (state.acceptsTasks() && workers.stream().noneMatch(WorkerRecord::isReady)) {
            status = HealthStatus.CRITICAL;
            alerts.add("no worker is ready");
        }
        return new PoolHealth(status, alerts);
    }

    int pendingSpawnCount() {
        return groups.values().stream().mapToInt(g -> g.pendingSpawns.size()).sum();
    }

    int runningCount() {
        return workers.stream().mapToInt(w -> w.inFlight.size()).sum();
    }

    boolean anyRunning() {
        return workers.stream().anyMatch(w -> !w.inFlight.isEmpty());
    }

    /** Whether some group may ever serve tasks with this routing, as far as is known. */
    boolean mayServe(TaskRecord.RoutingKey key) {
        for (int i = 0; i < groupList.size(); i++) {
            if (groupList.get(i).mayServe(key)) {
                return true;
            }
        }
        return false;
    }

    String capabilities() {
        Set<String> capabilities = new TreeSet<>();
        for (GroupRuntime group : groups.values()) {
            capabilities.addAll(group.config.capabilities());
            if (group.announcedCapabilities != null) {
                capabilities.addAll(group.announcedCapabilities);
            }
        }
        return SafeText.escape(capabilities.toString()); // workers announce them
    }

    String servedTypes() {
        Set<String> types = new TreeSet<>();
        for (GroupRuntime group : groups.values()) {
            if (group.announcedTaskTypes != null) {
                types.addAll(group.announcedTaskTypes);
            }
        }
        return SafeText.escape(types.toString()); // workers announce them
    }
}
