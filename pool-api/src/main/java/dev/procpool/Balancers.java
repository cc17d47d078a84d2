package dev.procpool;

import java.util.Comparator;
import java.util.List;
import java.util.Set;

/** The built-in load balancers, as named classes: what {@link LoadBalancer}'s factories return. */
final class Balancers {
    private Balancers() {
    }

    /** Each task to the next candidate in turn; {@link #forPool} gives every pool its own turns. */
    static final class RoundRobin implements LoadBalancer {
        /** The instance the factory hands out; pools never use its counter, only their own copies'. */
        static final RoundRobin SHARED = new RoundRobin();

        private long next;

        @Override
        public LoadBalancer forPool(String poolName) {
            return new RoundRobin();
        }

        @Override
        public synchronized WorkerView choose(TaskView task, List<? extends WorkerView> candidates) {
            return candidates.get((int) Long.remainderUnsigned(next++, candidates.size()));
        }

        @Override
        public String toString() {
            return "ROUND_ROBIN";
        }
    }

    /** Fewest tasks in flight, then fewest served, then least resident memory, then the lower id. */
    static final class LeastLoaded implements LoadBalancer {
        static final LeastLoaded INSTANCE = new LeastLoaded();
        private static final Comparator<WorkerView> ORDER = Comparator.comparingInt(WorkerView::tasksInFlight)
                .thenComparingLong(WorkerView::tasksServed)
                .thenComparingLong(WorkerView::rssBytes);

        @Override
        public WorkerView choose(TaskView task, List<? extends WorkerView> candidates) {
            WorkerView best = candidates.get(0);
            for (int i = 1; i < candidates.size(); i++) {
                if (ORDER.compare(candidates.get(i), best) < 0) {
                    best = candidates.get(i);
                }
            }
            return best;
        }

        @Override
        public String toString() {
            return "LEAST_LOADED";
        }
    }

    /** The closest fit of capabilities, then as {@link LeastLoaded}. */
    static final class CapabilityBased implements LoadBalancer {
        static final CapabilityBased INSTANCE = new CapabilityBased();

        @Override
        public WorkerView choose(TaskView task, List<? extends WorkerView> candidates) {
            int fewestExtra = Integer.MAX_VALUE;
            for (WorkerView worker : candidates) {
                fewestExtra = Math.min(fewestExtra, extra(worker, task));
            }
            int best = fewestExtra;
            List<? extends WorkerView> closest = candidates.stream().filter(w -> extra(w, task) == best).toList();
            return LeastLoaded.INSTANCE.choose(task, closest);
        }

        private static int extra(WorkerView worker, TaskView task) {
            Set<String> required = task.requiredCapabilities();
            return (int) worker.capabilities().stream().filter(c -> !required.contains(c)).count();
        }

        @Override
        public String toString() {
            return "CAPABILITY_BASED";
        }
    }
}
