package dev.procpool.core.internal.engine;

import dev.procpool.LoadBalancer;
import dev.procpool.WorkerState;
import dev.procpool.core.internal.balance.Placement;
import dev.procpool.core.internal.queue.TaskBook;

import java.util.ArrayList;
import java.util.List;

/**
 * Filling free worker slots from the queue: the first queued task in run order that some free worker can run goes
 * where {@link Placement} puts it (the group's own balancer when every candidate is of one group, else the pool's),
 * until no free worker can run any queued task. Called under the engine's lock.
 */
final class Dispatcher {
    private final TaskBook<TaskRecord> book;
    private final Supervisor supervisor;
    private final Placement placement;
    /** This pool's instance of the pool's load balancer ({@link LoadBalancer#forPool}). */
    private final LoadBalancer balancer;
    private final Admission admission;
    private final Attempts attempts;

    Dispatcher(TaskBook<TaskRecord> book, Supervisor supervisor, Placement placement, LoadBalancer balancer,
               Admission admission, Attempts attempts) {
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
        List<WorkerRecord> available = new ArrayList<>(supervisor.workers.size());
        while (book.queued() > 0) {
            available.clear();
            for (WorkerRecord worker : supervisor.workers) {
                if (worker.hasFreeSlot()) {
                    available.add(worker);
                }
            }
            if (available.isEmpty()) {
                return;
            }
            TaskRecord task = book.peekFirst(t -> anyCanRun(available, t));
            if (task == null) {
                return;
            }
            available.removeIf(w -> !w.canRun(task));
            WorkerRecord worker = (WorkerRecord) placement.choose(task, available, balancerFor(available),
                    w -> ((WorkerRecord) w).state == WorkerState.DEAD || ((WorkerRecord) w).isStopping());
            book.unqueue(task);
            admission.roomMade();
            attempts.start(task, worker, fx);
        }
    }

    private static boolean anyCanRun(List<WorkerRecord> workers, TaskRecord task) {
        for (WorkerRecord worker : workers) {
            if (worker.canRun(task)) {
                return true;
            }
        }
        return false;
    }

    /** The group's own balancer when every candidate is of one group, else the pool's. */
    private LoadBalancer balancerFor(List<WorkerRecord> candidates) {
        GroupRuntime group = candidates.get(0).group;
        for (WorkerRecord candidate : candidates) {
            if (candidate.group != group) {
                return balancer;
            }
        }
        return group.balancer != null ? group.balancer : balancer;
    }
}
