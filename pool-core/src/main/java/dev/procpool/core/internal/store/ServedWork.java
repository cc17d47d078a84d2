package dev.procpool.core.internal.store;

import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * What a host can run now, for a claim: a task matches if some group serves its type and has every capability it
 * requires. The engine passes only the groups that have free slots.
 *
 * @param groups the groups; empty matches nothing
 * @param any    true if the host runs any task whatever its type and capabilities (the groups are then ignored)
 */
public record ServedWork(List<Group> groups, boolean any) {
    /**
     * One kind of worker.
     *
     * @param types        the task types it serves; empty for any type
     * @param capabilities the capabilities its workers have
     */
    public record Group(Set<String> types, Set<String> capabilities) {
        public Group {
            types = Set.copyOf(types);
            capabilities = Set.copyOf(capabilities);
        }
    }

    public ServedWork {
        groups = List.copyOf(groups);
    }

    /** Any task at all. */
    public static ServedWork anything() {
        return new ServedWork(List.of(), true);
    }

    /** Tasks that one of these groups can run. */
    public static ServedWork of(Group... groups) {
        return new ServedWork(List.of(groups), false);
    }

    /** Tasks of these types that need no capability. */
    public static ServedWork types(String... types) {
        return of(new Group(Set.of(types), Set.of()));
    }

    ServedWork requireSome() {
        if (!any && groups.isEmpty()) {
            throw new IllegalArgumentException("served work names no group; use ServedWork.anything() for any task");
        }
        return this;
    }

    @Override
    public String toString() {
        return any ? "any" : Objects.toString(groups);
    }
}
