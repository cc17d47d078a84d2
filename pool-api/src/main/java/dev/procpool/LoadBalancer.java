package dev.procpool;

import java.util.List;
import java.util.Set;

/**
 * Picks the worker for a task among the workers able to take it now (right type and capabilities, a free slot).
 * Affinity is applied before the balancer: a task whose affinity key maps to a free, live worker goes there.
 *
 * <p>The pool calls a balancer while it holds its scheduling lock, from several threads but never concurrently:
 * implementations must be fast, must not block, and must not keep the views they are given (they change
 * afterwards). A balancer is the application's code, so the pool guards the call: one that throws, or returns a
 * worker that is not among the candidates, is logged once, counted
 * ({@link PoolSnapshot.Performance#balancerFailures()}), and replaced by {@link #leastLoaded()} for that choice.
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

    /**
     * The balancer one pool uses, called once per pool (and per group with its own balancer) when the pool starts.
     * A balancer with per-pool state returns a fresh instance here, so that one instance given to several pools (a
     * constant, say) never shares its state between them; a stateless balancer returns itself (the default).
     *
     * @param poolName the name of the pool that will use the balancer
     * @return the balancer for that pool: this one when it keeps no per-pool state
     */
    default LoadBalancer forPool(String poolName) {
        return this;
    }

    /**
     * Each task to the next candidate in turn. The returned balancer may be shared by any number of pools: each pool
     * takes its own turns ({@link #forPool}).
     *
     * @return a round-robin balancer that may be shared between pools
     */
    static LoadBalancer roundRobin() {
        return Balancers.RoundRobin.SHARED;
    }

    /**
     * The candidate with the fewest tasks in flight; ties go to the worker that has served fewer tasks (so idle
     * workers take turns and all stay warm), then to the lower resident memory, then to the lower id. Stateless.
     *
     * @return a least-loaded balancer that may be shared between pools
     */
    static LoadBalancer leastLoaded() {
        return Balancers.LeastLoaded.INSTANCE;
    }

    /**
     * The candidate whose capabilities fit the task most closely (fewest capabilities beyond those required), so
     * that specialised workers stay free for the tasks that need them; ties are broken as by
     * {@link #leastLoaded()}. Stateless.
     *
     * @return a capability-based balancer that may be shared between pools
     */
    static LoadBalancer capabilityBased() {
        return Balancers.CapabilityBased.INSTANCE;
    }

    /** What a balancer may know of a task. */
    interface TaskView {
        /** {@return the task's id} */
        String id();

        /** {@return the task's type} */
        String type();

        /** {@return the task's priority, as {@link TaskRequest#priority()}} */
        int priority();

        /** {@return the capabilities a worker must have to run the task} */
        Set<String> requiredCapabilities();

        /** {@return the affinity key, or {@code null}} */
        String affinityKey();
    }

    /** What a balancer may know of a worker. */
    interface WorkerView {
        /** {@return the worker's id, for example {@code w-3}} */
        String id();

        /** {@return the worker's group} */
        String group();

        /** {@return the worker process's pid} */
        long pid();

        /** {@return the tasks the worker runs or holds now} */
        int tasksInFlight();

        /** {@return how many tasks the worker may run at once} */
        int maxConcurrency();

        /** {@return the tasks the worker has served} */
        long tasksServed();

        /** {@return the worker's resident memory last seen, 0 when unknown} */
        long rssBytes();

        /** {@return the worker's capabilities: its group's and those it announced} */
        Set<String> capabilities();
    }
}
