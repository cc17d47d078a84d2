package dev.procpool.core.internal.engine;

import dev.procpool.PoolEvent;
import dev.procpool.PoolState;
import dev.procpool.TaskRejectedException;
import dev.procpool.core.internal.queue.TaskBook;
import dev.procpool.core.internal.text.Units;

import java.time.Duration;
import java.time.Instant;
import java.util.TreeSet;
import java.util.concurrent.locks.Condition;
import java.util.function.Supplier;

/**
 * Taking tasks in: the checks a submission must pass (the pool accepts tasks, the queue has room or it waits for
 * room if the pool blocks when full, the id is free, some worker may serve the type), each refusal a
 * {@link TaskRejectedException} whose kind and message say why. Called under the engine's lock.
 */
final class Admission {
    private static final Duration CENTURY = Duration.ofDays(36_525);
    private final EngineContext ctx;
    private final TaskBook<TaskRecord> book;
    private final Supervisor supervisor;
    private final Counters counters;
    private final Supplier<PoolState> poolState;
    private final Condition notFull;
    private int waitingSubmitters;

    Admission(EngineContext ctx, TaskBook<TaskRecord> book, Supervisor supervisor, Counters counters,
              Supplier<PoolState> poolState) {
        this.ctx = ctx;
        this.book = book;
        this.supervisor = supervisor;
        this.counters = counters;
        this.poolState = poolState;
        this.notFull = ctx.lock.newCondition();
    }

    /** Takes a task in, or throws {@link TaskRejectedException} saying why not; waits for room if so configured. */
    void admit(TaskRecord task) {
        checkAccepting(task);
        if (book.isFull()) {
            awaitRoom(task);
        }
        if (book.holds(task.id)) {
            throw new TaskRejectedException(TaskRejectedException.Kind.DUPLICATE_ID, "task id \"" + task.id
                    + "\" is already in use in pool \"" + ctx.config.name() + "\"; ids must be unique among the "
                    + "pool's unfinished tasks");
        }
        checkRunnable(task);
        task.routingKey = book.intern(task.routingKey);
        Instant notBefore = task.request.notBefore().orElse(null);
        long wait = notBefore == null ? 0 : nanosUntil(notBefore);
        if (wait > 0) {
            long until = ctx.now() + wait;
            book.acceptScheduled(task, until);
            ctx.dueAt(until);
        } else {
            book.accept(task);
        }
        submitted(task);
    }

    /** Nanoseconds from now until a wall-clock time, 0 if it has passed; at most a century (no overflow). */
    private long nanosUntil(Instant time) {
        Duration wait = Duration.between(ctx.clock.instant(), time);
        return wait.isNegative() ? 0 : wait.compareTo(CENTURY) > 0 ? CENTURY.toNanos() : wait.toNanos();
    }

    /**
     * The checks a task for a durable store passes before it is stored: the pool takes tasks, and some worker may run
     * it. The queue is the store's: no capacity here, and a known id is the store's to answer.
     */
    void check(TaskRecord task) {
        checkAccepting(task);
        checkRunnable(task);
    }

    /** Counts an accepted task and tells the listeners. */
    void submitted(TaskRecord task) {
        counters.submitted++;
        if (ctx.listening()) {
            ctx.publish(new PoolEvent.TaskSubmitted(ctx.config.name(), ctx.clock.instant(), task.id, task.type(),
                    task.request.priority()));
        }
    }

    private void checkRunnable(TaskRecord task) {
        if (!supervisor.mayServe(task.routingKey)) {
            throw new TaskRejectedException(TaskRejectedException.Kind.NO_CAPABLE_WORKER, "no worker of pool \""
                    + ctx.config.name() + "\" serves task type \"" + task.type() + "\""
                    + (task.requiredCapabilities().isEmpty() ? ""
                    : " with capabilities " + new TreeSet<>(task.requiredCapabilities()))
                    + "; the workers serve " + supervisor.servedTypes() + " with capabilities "
                    + supervisor.capabilities());
        }
        if (!supervisor.canRunSomewhere(task.routingKey)) {
            throw new TaskRejectedException(TaskRejectedException.Kind.WORKERS_CANNOT_START, "pool \""
                    + ctx.config.name() + "\" cannot start the workers that run \"" + task.type() + "\" tasks: "
                    + supervisor.whyCannotStart(task.routingKey) + ". Task " + task.id + " was not queued; such "
                    + "tasks are accepted again once a worker starts");
        }
    }

    private void checkAccepting(TaskRecord task) {
        PoolState state = poolState.get();
        if (!state.acceptsTasks()) {
            throw new TaskRejectedException(TaskRejectedException.Kind.SHUT_DOWN, "pool \"" + ctx.config.name()
                    + "\" does not accept tasks in state " + state + "; task " + task.id + " ("
                    + task.type() + ") was not queued");
        }
    }

    private void awaitRoom(TaskRecord task) {
        long waitNanos = ctx.config.blockWhenFull().map(Duration::toNanos).orElse(0L);
        waitingSubmitters++;
        try {
            while (book.isFull() && waitNanos > 0) {
                waitNanos = notFull.awaitNanos(waitNanos);
                checkAccepting(task);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new TaskRejectedException(TaskRejectedException.Kind.QUEUE_FULL, "interrupted while waiting for "
                    + "room in the queue of pool \"" + ctx.config.name() + "\"; task " + task.id
                    + " was not queued", e);
        } finally {
            waitingSubmitters--;
        }
        if (book.isFull()) {
            throw new TaskRejectedException(TaskRejectedException.Kind.QUEUE_FULL, "the queue of pool \""
                    + ctx.config.name() + "\" is full (queueCapacity " + ctx.config.queueCapacity() + ")"
                    + ctx.config.blockWhenFull().map(d -> " and stayed full for " + Units.duration(d)).orElse("")
                    + "; task " + task.id + " (" + task.type() + ") was not queued");
        }
    }

    /** The pool stops taking tasks: submitters waiting for room learn it now, not when their wait ends. */
    void stopping() {
        notFull.signalAll();
    }

    /** A task left the queue: a submitter waiting for room may go on. */
    void roomMade() {
        if (waitingSubmitters > 0) {
            notFull.signal();
        }
    }
}
