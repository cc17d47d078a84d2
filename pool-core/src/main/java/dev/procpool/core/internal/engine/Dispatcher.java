package dev.procpool.core.internal.engine;

import dev.procpool.LoadBalancer;
import dev.procpool.WorkerState;
import dev.procpool.core.internal.balance.Placement;
import dev.procpool.core.internal.queue.TaskBook;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Predicate;

/**
 * Filling free worker slots from the queue: the first queued task in run order that some worker with room can run
 * goes where {@link Placement} puts it (the group's own balancer when every candidate is of one group, else the
 * pool's), until no worker with room can run any queued task. A worker with a free slot always comes first: a task
 * goes ahead into a busy worker's send-ahead window ({@link SendAhead}, or the group's fixed prefetch) only when no
 * worker that can run it has a slot free, so it never waits behind a backlog while a worker that could start it
 * idles. Called under the engine's lock.
 */
final class Dispatcher {
    private final EngineContext ctx;
    private final TaskBook<TaskRecord> book;
    private final Supervisor supervisor;
    private final Placement placement;
    /** This pool's instance of the pool's load balancer ({@link LoadBalancer#forPool}). */
    private final LoadBalancer balancer;
    private final Admission admission;
    private final Attempts attempts;
    /** Workers with a free slot, and workers with only send-ahead room: reused from pass to pass. */
    private final List<WorkerRecord> free = new ArrayList<>();
    private final List<WorkerRecord> ahead = new ArrayList<>();
    /** The filters of a pass, made once: a lambda made per pass or per task is garbage on the hot path. */
    private final Predicate<TaskRecord> runnableByFreeOrAhead = t -> anyCanRun(free, t) || anyCanRun(ahead, t);
    private final Predicate<TaskRecord> runnableByFree = t -> anyCanRun(free, t);

    Dispatcher(EngineContext ctx, TaskBook<TaskRecord> book, Supervisor supervisor, Placement placement,
               LoadBalancer balancer, Admission admission, Attempts attempts) {
        this.ctx = ctx;
        this.book = book;
        this.supervisor = supervisor;
        this.placement = placement;
        this.balancer = balancer;
        this.admission = admission;
        this.attempts = attempts;
    }

    void fillSlots(Effects fx) {
        if (book.queued() == 0) {
            return;
        }
        long now = ctx.now();
        try {
            while (book.queued() > 0) {
                free.clear();
                ahead.clear();
                for (int i = 0; i < supervisor.workers.size(); i++) {
                    WorkerRecord worker = supervisor.workers.get(i);
                    if (worker.hasFreeSlot()) {
                        free.add(worker);
                    } else if (worker.hasRoom()) {
                        ahead.add(worker);
                    }
                }
                if (free.isEmpty() && ahead.isEmpty()) {
                    return;
                }
                TaskRecord first = book.peekFirst(runnableByFreeOrAhead);
                if (first == null) {
                    return;
                }
                TaskRecord task = first;
                List<WorkerRecord> candidates = free;
                if (!anyCanRun(free, first)) {
                    for (int i = ahead.size() - 1; i >= 0; i--) {
                        WorkerRecord w = ahead.get(i);
                        if (!w.canRun(first) || !mayGoAhead(w, first, now)) {
                            ahead.remove(i);
                        }
                    }
                    candidates = ahead;
                    if (candidates.isEmpty()) {
                        // it waits for a free slot, and nothing goes ahead of it; a free worker may run a later task
                        task = book.peekFirst(runnableByFree);
                        if (task == null) {
                            return;
                        }
                        candidates = free;
                    }
                }
                for (int i = candidates.size() - 1; i >= 0; i--) {
                    if (!candidates.get(i).canRun(task)) {
                        candidates.remove(i);
                    }
                }
                WorkerRecord worker = (WorkerRecord) placement.choose(task, candidates, balancerFor(candidates),
                        w -> ((WorkerRecord) w).state == WorkerState.DEAD || ((WorkerRecord) w).isStopping());
                book.unqueue(task);
                admission.roomMade();
                attempts.start(task, worker, fx);
            }
        } finally {
            free.clear(); // no worker kept reachable between passes
            ahead.clear();
        }
    }

    /**
     * Whether a task may wait at a busy worker, behind its current tasks. A fixed prefetch says yes whatever the
     * tasks. The adaptive window says yes only when the wait is short: into a deep window, when the task's type and
     * the running task's are known to take no longer than that worker's round trip; as the one task ahead, when they
     * take no longer than {@link SendAhead#ONE_AHEAD_ROUND_TRIPS} round trips. Either way the running task must not
     * have run longer than that bound (then it is not the short task it was expected to be).
     */
    private boolean mayGoAhead(WorkerRecord worker, TaskRecord task, long now) {
        if (!worker.group.config.adaptivePrefetch()) {
            return true;
        }
        long own = attempts.taskTimes.nanos(task.type());
        if (own < 0) {
            return false;
        }
        long roundTrip = worker.sendAhead.roundTripNanos();
        boolean firstAhead = worker.inFlight.size() <= worker.maxConcurrency;
        long bound = own <= roundTrip ? roundTrip : firstAhead ? worker.sendAhead.oneAheadBoundNanos() : -1;
        if (own > bound) {
            return false;
        }
        TaskRecord running = worker.oldestInFlight();
        if (running == null) {
            return true;
        }
        long runningFor = now - Math.max(running.dispatchedAt, worker.lastAnswerAt);
        long expected = attempts.taskTimes.nanos(running.type());
        long runningBound = firstAhead ? worker.sendAhead.oneAheadBoundNanos() : roundTrip;
        return runningFor <= runningBound && expected >= 0 && expected <= runningBound;
    }

    private static boolean anyCanRun(List<WorkerRecord> workers, TaskRecord task) {
        for (int i = 0; i < workers.size(); i++) {
            if (workers.get(i).canRun(task)) {
                return true;
            }
        }
        return false;
    }

    /** The group's own balancer when every candidate is of one group, else the pool's. */
    private LoadBalancer balancerFor(List<WorkerRecord> candidates) {
        GroupRuntime group = candidates.get(0).group;
        for (int i = 1; i < candidates.size(); i++) {
            if (candidates.get(i).group != group) {
                return balancer;
            }
        }
        return group.balancer != null ? group.balancer : balancer;
    }
}
