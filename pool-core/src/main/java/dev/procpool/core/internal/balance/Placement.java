package dev.procpool.core.internal.balance;

import dev.procpool.LoadBalancer;
import dev.procpool.LoadBalancer.TaskView;
import dev.procpool.LoadBalancer.WorkerView;
import dev.procpool.core.internal.Loggers;
import org.slf4j.Logger;

import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Predicate;

/**
 * Where a task goes among the workers able to take it: its affinity key's worker if that is a candidate, else the
 * load balancer's choice. The balancer is the user's code, so its call is guarded: one that throws, or returns a
 * worker that is not a candidate, is logged once, counted, and replaced by least-loaded for that choice; nothing it
 * does can leave a task half placed. Not thread-safe: the engine calls it under its lock.
 */
public final class Placement {
    private static final Logger LOG = Loggers.pool();
    /** Affinity keys remembered at most; beyond it the least recently used are forgotten. */
    public static final int MAX_AFFINITY_KEYS = 65_536;
    private static final LoadBalancer FALLBACK = LoadBalancer.leastLoaded();

    /** Affinity key → the worker that last ran it; bounded, least recently used first out. */
    private final Map<String, WorkerView> affinity = new LinkedHashMap<>(256, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, WorkerView> eldest) {
            return size() > MAX_AFFINITY_KEYS;
        }
    };
    /** Balancers that misbehaved already: each is logged once, then only counted. */
    private final Set<LoadBalancer> reported = Collections.newSetFromMap(new IdentityHashMap<>());
    private final String poolName;
    private long balancerFailures;

    public Placement(String poolName) {
        this.poolName = poolName;
    }

    /**
     * Chooses among {@code candidates} (never empty) for {@code task}.
     *
     * @param gone whether a worker can no longer take tasks (dead or stopping): its affinity keys move on
     */
    public WorkerView choose(TaskView task, List<? extends WorkerView> candidates, LoadBalancer balancer,
                             Predicate<WorkerView> gone) {
        String key = task.affinityKey();
        if (key != null) {
            WorkerView preferred = affinity.get(key);
            if (preferred != null && candidates.contains(preferred)) {
                return preferred;
            }
        }
        WorkerView chosen = candidates.size() == 1 ? candidates.get(0) : guardedChoice(task, candidates, balancer);
        if (key != null) {
            WorkerView previous = affinity.get(key);
            if (previous == null || gone.test(previous)) {
                affinity.put(key, chosen); // the key's worker is gone: it moves to the new one
            }
        }
        return chosen;
    }

    /** How many choices a balancer got wrong (threw, or chose a worker that was not a candidate). */
    public long balancerFailures() {
        return balancerFailures;
    }

    private WorkerView guardedChoice(TaskView task, List<? extends WorkerView> candidates, LoadBalancer balancer) {
        WorkerView view;
        try {
            view = balancer.choose(task, candidates);
        } catch (Throwable e) { // the user's code: whatever it throws, the task is still placed
            misbehaved(balancer, "threw " + e, e);
            return FALLBACK.choose(task, candidates);
        }
        if (view == null || !containsSame(candidates, view)) {
            misbehaved(balancer, "chose " + (view == null ? "null" : "worker " + safeId(view))
                    + ", which is not one of the candidates", null);
            return FALLBACK.choose(task, candidates);
        }
        return view;
    }

    private static boolean containsSame(List<? extends WorkerView> candidates, WorkerView view) {
        for (WorkerView candidate : candidates) {
            if (candidate == view) {
                return true;
            }
        }
        return false;
    }

    private static String safeId(WorkerView view) {
        try {
            return view.id();
        } catch (RuntimeException e) {
            return view.getClass().getName();
        }
    }

    private void misbehaved(LoadBalancer balancer, String what, Throwable cause) {
        balancerFailures++;
        if (reported.add(balancer)) {
            LOG.error("pool {}: load balancer {} {}; placing by least load instead (logged once per balancer, "
                    + "counted in the pool snapshot)", poolName, balancer, what, cause);
        }
    }
}
