package dev.procpool.core.internal.engine;

import dev.procpool.LoadBalancer;
import dev.procpool.RestartPolicy;
import dev.procpool.core.internal.balance.Balancing;
import dev.procpool.WorkerGroup;
import dev.procpool.core.internal.supervise.RestartTracker;

import java.util.PriorityQueue;
import java.util.Set;

/** A worker group and what its workers announced. Guarded by the engine's lock. */
final class GroupRuntime {
    final WorkerGroup config;
    final RestartTracker restarts;
    /** When scheduled replacement workers are due to start, earliest first. */
    final PriorityQueue<Long> pendingSpawns = new PriorityQueue<>();
    /** How many workers the group should have, and the bounds automatic scaling keeps it in. */
    int target;
    int min;
    int max;
    /** Capabilities announced by the group's workers; null until one is ready. */
    Set<String> announcedCapabilities;
    /** Task types announced by the group's workers; null until one is ready, empty when they serve any type. */
    Set<String> announcedTaskTypes;
    /** Start failures in a row: workers that could not be launched or exited before ready. Reset by a ready one. */
    int startFailuresInARow;
    /** The last start failure, in one line: what tasks fail with, and submissions are refused with. */
    String lastStartFailure;
    /**
     * The group failed to start workers too often with none ready: the tasks only it can run fail, and new ones are
     * refused, until one of its workers becomes ready.
     */
    boolean cannotStart;
    /** This pool's instance of the group's own load balancer, if it has one ({@link LoadBalancer#forPool}). */
    final LoadBalancer balancer;

    GroupRuntime(WorkerGroup config, RestartPolicy restartPolicy, String poolName) {
        this.config = config;
        this.balancer = config.loadBalancer().map(b -> Balancing.forPool(b, poolName)).orElse(null);
        this.restarts = new RestartTracker(restartPolicy);
        this.target = config.workers();
        this.min = config.minWorkers();
        this.max = config.maxWorkers();
    }

    String name() {
        return config.name();
    }

    /** Whether the group may ever serve tasks with this routing, as far as is known. */
    boolean mayServe(TaskRecord.RoutingKey key) {
        boolean type = announcedTaskTypes == null || announcedTaskTypes.isEmpty()
                || announcedTaskTypes.contains(key.type());
        boolean capabilities = announcedCapabilities == null
                || union(config.capabilities(), announcedCapabilities).containsAll(key.requiredCapabilities());
        return type && capabilities;
    }

    static Set<String> union(Set<String> a, Set<String> b) {
        if (b.isEmpty()) {
            return a;
        }
        if (a.isEmpty()) {
            return b;
        }
        java.util.Set<String> all = new java.util.HashSet<>(a);
        all.addAll(b);
        return Set.copyOf(all);
    }
}
