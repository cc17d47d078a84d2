package dev.procpool.core.internal.dispatch;

import dev.procpool.RestartPolicy;
import dev.procpool.WorkerGroup;
import dev.procpool.core.internal.health.RestartTracker;

import java.util.PriorityQueue;
import java.util.Set;

/** A worker group and what its workers announced. Guarded by the dispatcher's lock. */
final class GroupRuntime {
    final WorkerGroup config;
    final RestartTracker restarts;
    /** When scheduled replacement workers are due to start, earliest first. */
    final PriorityQueue<Long> pendingSpawns = new PriorityQueue<>();
    /** How many workers the group should have. */
    int target;
    /** Task types announced by the group's workers; null until one is ready, empty when they serve any type. */
    Set<String> announcedTaskTypes;

    GroupRuntime(WorkerGroup config, RestartPolicy restartPolicy) {
        this.config = config;
        this.restarts = new RestartTracker(restartPolicy);
        this.target = config.workers();
    }

    String name() {
        return config.name();
    }

    /** Whether the group may serve the type, as far as is known. */
    boolean mayServe(String type) {
        return announcedTaskTypes == null || announcedTaskTypes.isEmpty() || announcedTaskTypes.contains(type);
    }
}
