package dev.procpool;

import java.util.Comparator;
import java.util.List;
import java.util.Set;

/**
 * Picks the worker for a task among the workers able to take it now (right type and capabilities, a free slot).
 * Affinity is applied before the balancer: a task whose affinity key maps to a free, live worker goes there.
 *
 * <p>The pool calls a balancer while it holds its scheduling lock, from several threads but never concurrently:
 * implementations must be fast, must not block, and must not keep the views they are given (they change
 * afterwards).
 */
@FunctionalInterface
public interface LoadBalancer {

    /**
     * Chooses a worker.
     *
     * @param task       the task to place
     * @param candidates the workers able to take it now, never empty, in worker-id order
     * @return one of the candidates
     */
    WorkerView choose(TaskView task, List<? extends WorkerView> candidates);

    /** Each task to the next candidate in turn. */
    static LoadBalancer roundRobin() {
        return new LoadBalancer() {
            private long next;

            @Override
            public WorkerView choose(TaskView task, List<? extends WorkerView> candidates) {
                return candidates.get((int) Long.remainderUnsigned(next++, candidates.size()));
            }

            @Override
            public String toString() {
                return "ROUND_ROBIN";
            }
        };
    }

    /**
     * The candidate with the fewest tasks in flight; ties go to the worker that has served fewer tasks (so idle
     * workers take turns and all stay warm), then to the lower resident memory, then to the lower id.
     */
    static LoadBalancer leastLoaded() {
        Comparator<WorkerView> order = Comparator.comparingInt(WorkerView::tasksInFlight)
                .thenComparingLong(WorkerView::tasksServed)
                .thenComparingLong(WorkerView::rssBytes);
        return new LoadBalancer() {
            @Override
            public WorkerView choose(TaskView task, List<? extends WorkerView> candidates) {
                WorkerView best = candidates.get(0);
                for (int i = 1; i < candidates.size(); i++) {
                    if (order.compare(candidates.get(i), best) < 0) {
                        best = candidates.get(i);
                    }
                }
                return best;
            }

            @Override
            public String toString() {
                return "LEAST_LOADED";
            }
        };
    }

    /**
     * The candidate whose capabilities fit the task most closely (fewest capabilities beyond those required), so
     * that specialised workers stay free for the tasks that need them; ties are broken as by
     * {@link #leastLoaded()}.
     */
    static LoadBalancer capabilityBased() {
        LoadBalancer leastLoaded = leastLoaded();
        return new LoadBalancer() {
            @Override
            public WorkerView choose(TaskView task, List<? extends WorkerView> candidates) {
                int fewestExtra = Integer.MAX_VALUE;
                for (WorkerView worker : candidates) {
                    fewestExtra = Math.min(fewestExtra, extra(worker, task));
                }
                final int best = fewestExtra;
                List<? extends WorkerView> closest = candidates.stream().filter(w -> extra(w, task) == best).toList();
                return leastLoaded.choose(task, closest);
            }

            private int extra(WorkerView worker, TaskView task) {
                Set<String> required = task.requiredCapabilities();
                return (int) worker.capabilities().stream().filter(c -> !required.contains(c)).count();
            }

            @Override
            public String toString() {
                return "CAPABILITY_BASED";
            }
        };
    }

    /** What a balancer may know of a task. */
    interface TaskView {
        String id();

        String type();

        int priority();

        Set<String> requiredCapabilities();

        /** The affinity key, or {@code null}. */
        String affinityKey();
    }

    /** What a balancer may know of a worker. */
    interface WorkerView {
        String id();

        String group();

        long pid();

        int tasksInFlight();

        int maxConcurrency();

        long tasksServed();

        long rssBytes();

        Set<String> capabilities();
    }
}
