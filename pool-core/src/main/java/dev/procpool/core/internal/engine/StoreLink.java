package dev.procpool.core.internal.engine;

import dev.procpool.TaskRejectedException;
import dev.procpool.TaskState;
import dev.procpool.core.internal.queue.TaskBook;
import dev.procpool.core.internal.store.ClaimedTask;
import dev.procpool.core.internal.store.LeaseRef;
import dev.procpool.core.internal.store.ServedWork;
import dev.procpool.core.internal.Loggers;
import org.slf4j.Logger;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.function.Function;

/**
 * The engine's side of a durable task store: what this host may claim, taking claimed tasks in, the leases it holds,
 * leases it lost, cancels from other hosts, and the checks a task passes before it is stored. Every method takes the
 * engine's lock, as the engine's own entry points do; {@link DurableTasks} is the only caller.
 */
final class StoreLink {
    private static final Logger LOG = Loggers.store();

    /** How many tasks this host may claim now, and what its ready workers serve (null when none is ready). */
    record ClaimPlan(int slots, ServedWork served) {
    }

    private final Engine engine;
    private final TaskBook<TaskRecord> book;
    private final Supervisor supervisor;
    private final Admission admission;
    private final Counters counters;
    /** Woken when workers may take more than waits here: the store's thread claims then. */
    private volatile Runnable roomForClaims = () -> { };
    /** Set when a claim found no room, cleared by the first wake: one wake per claim, not one per ended task. */
    private volatile boolean claimAwaited;
    /** At or below this many tasks waiting here, the store's thread is woken to claim. */
    private volatile int claimBelow;

    StoreLink(Engine engine, TaskBook<TaskRecord> book, Supervisor supervisor, Admission admission,
              Counters counters) {
        this.engine = engine;
        this.book = book;
        this.supervisor = supervisor;
        this.admission = admission;
        this.counters = counters;
    }

    /** What to run when workers could take more than waits here. */
    void onRoomForClaims(Runnable wake) {
        this.roomForClaims = wake;
    }

    /**
     * What this host may claim: the free slots and send-ahead room of its ready workers, plus {@code ahead} tasks to keep waiting here so
     * that workers do not idle while the next claim travels, less what already waits. Nothing once the pool stops
     * taking tasks.
     */
    ClaimPlan claimPlan(int ahead) {
        return engine.read(() -> {
            if (!engine.acceptsTasks()) {
                return new ClaimPlan(0, null);
            }
            int free = 0;
            List<ServedWork.Group> served = new ArrayList<>();
            for (GroupRuntime group : supervisor.groups.values()) {
                boolean ready = false;
                for (WorkerRecord worker : supervisor.workers) {
                    if (worker.group == group && worker.isReady() && worker.isActiveMember()) {
                        ready = true;
                        free += worker.freeSlots(); // slots and send-ahead window (adaptive or fixed)
                    }
                }
                if (ready && !group.cannotStart) {
                    served.add(new ServedWork.Group(
                            group.announcedTaskTypes == null ? Set.of() : group.announcedTaskTypes,
                            GroupRuntime.union(group.config.capabilities(), group.announcedCapabilities == null
                                    ? Set.of() : group.announcedCapabilities)));
                }
            }
            int slots = served.isEmpty() ? 0 : Math.max(0, free + ahead - book.queued());
            if (slots == 0) { // no room now: the next claim waits for room (new tasks wake it by themselves)
                claimBelow = ahead / 2;
                claimAwaited = true;
            }
            return new ClaimPlan(slots, served.isEmpty() ? null : new ServedWork(served, false));
        });
    }

    /** Called under the lock after dispatching: wakes the store's thread once when little waits here. */
    void afterDispatch() {
        if (claimAwaited && book.queued() <= claimBelow) {
            claimAwaited = false;
            roomForClaims.run();
        }
    }

    /**
     * Tasks this host claimed. Each becomes (or, when this host holds a handle on it, reuses) a task record carrying
     * the claim's lease; the claim was the attempt's start.
     */
    void acceptClaimed(List<ClaimedTask> claimed, Function<ClaimedTask, TaskRecord> records) {
        engine.act(fx -> {
            long now = engine.ctx.now();
            for (ClaimedTask claim : claimed) {
                TaskRecord task = records.apply(claim);
                TaskRecord held = book.get(task.id);
                if (held != null && held != task) {
                    held.abandoned = true; // an earlier lease of this host, lost meanwhile: its answer is void
                }
                task.lease = claim.lease();
                task.attempts = claim.attempt() - 1; // the dispatch counts it, as in memory
                task.abandoned = false;
                task.routingKey = book.intern(task.routingKey);
                book.acceptRanked(task, claim.rank(), now);
            }
            engine.dispatch(fx);
        });
    }

    /** The leases this host holds, for renewal. */
    List<LeaseRef> heldLeases() {
        return engine.read(() -> book.held().stream().filter(t -> t.lease != null && !t.abandoned)
                .map(t -> t.lease).toList());
    }

    /**
     * Leases another host took over (this host was silent too long). Their attempts are abandoned: a running one is
     * asked to stop, and nothing it answers is recorded.
     */
    void leasesLost(List<LeaseRef> lost) {
        engine.act(fx -> {
            for (LeaseRef lease : lost) {
                TaskRecord task = book.get(lease.taskId());
                if (task == null || !lease.equals(task.lease)) {
                    continue;
                }
                LOG.warn("task {} ({}): this host's lease on attempt {} was lost; another host runs it", task.id,
                        task.type(), lease.attempt());
                task.abandoned = true;
                if (task.state == TaskState.RUNNING && task.worker != null) {
                    fx.send(task.worker, engine.ctx.codec.encodeCancel(task.id));
                } else if (book.unqueue(task)) {
                    book.release(task);
                }
            }
        });
    }

    /** Cancel requests for tasks this host runs, from any host. */
    void cancelRequested(List<String> taskIds) {
        engine.act(fx -> {
            for (String id : taskIds) {
                TaskRecord task = book.get(id);
                if (task != null && task.lease != null && !task.abandoned) {
                    engine.cancel(task, "cancelled by a caller on another host", fx);
                }
            }
        });
    }

    /** Cancels the task if this host holds it; null if it does not. */
    Boolean cancelIfHeld(String taskId) {
        return engine.decide(fx -> {
            TaskRecord task = book.get(taskId);
            return task == null || task.lease == null || task.abandoned ? null
                    : engine.cancel(task, "cancelled by the caller", fx);
        });
    }

    /** The checks a task passes before it is stored: the pool takes tasks, some worker may run it. */
    void checkSubmit(TaskRecord task) {
        engine.read(() -> {
            try {
                admission.check(task);
            } catch (TaskRejectedException e) {
                counters.rejected(e.kind());
                throw e;
            }
            return null;
        });
    }

    /** Counts a stored task and tells the listeners. */
    void countSubmitted(TaskRecord task) {
        engine.read(() -> {
            admission.submitted(task);
            return null;
        });
    }

    /**
     * How many tasks this host's workers take in {@code nanos}: the ready workers' slots times how many tasks one
     * slot serves in that time (from its recent time per task; none before the first answer).
     */
    double tasksServedIn(long nanos) {
        return engine.read(() -> {
            if (counters.serviceNanos == 0) {
                return 0.0;
            }
            int slots = 0;
            for (WorkerRecord worker : supervisor.workers) {
                if (worker.isReady() && worker.isActiveMember()) {
                    slots += worker.maxConcurrency;
                }
            }
            return (double) nanos / counters.serviceNanos * slots;
        });
    }
}
