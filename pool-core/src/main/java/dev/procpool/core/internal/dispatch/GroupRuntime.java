package dev.procpool.core.internal.dispatch;

import dev.procpool.WorkerGroup;

import java.util.Set;

/** A worker group and what its workers announced. Guarded by the dispatcher's lock. */
final class GroupRuntime {
    final WorkerGroup config;
    /** Task types announced by the group's workers; null until one is ready, empty when they serve any type. */
    Set<String> announcedTaskTypes;

    GroupRuntime(WorkerGroup config) {
        this.config = config;
    }

    String name() {
        return config.name();
    }

    /** Whether the group may serve the type, as far as is known. */
    boolean mayServe(String type) {
        return announcedTaskTypes == null || announcedTaskTypes.isEmpty() || announcedTaskTypes.contains(type);
    }
}
