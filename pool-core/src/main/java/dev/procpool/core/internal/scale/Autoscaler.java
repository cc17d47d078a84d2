package dev.procpool.core.internal.scale;

import dev.procpool.core.internal.text.Units;
import java.util.ArrayList;
import java.util.List;

/**
 * Automatic scaling verdicts, as a pure function of the groups' load and the time: a group whose backlog exceeds its
 * free slots grows towards its maximum; a group with no backlog retires workers that have idled for its idle timeout,
 * down to its minimum. Groups whose minimum equals their maximum are fixed and never appear here.
 */
public final class Autoscaler {

    /** A worker with nothing to do since {@code idleSince}. */
    public record IdleWorker(String workerId, long idleSince) {
    }

    /**
     * One scalable group at a moment.
     *
     * @param backlog   queued tasks this group's workers could run
     * @param freeSlots tasks the group could take now: free slots of its serving workers, plus the slots of its
     *                  starting and scheduled workers
     * @param idle      its serving workers that have no task, oldest idle first or in any order
     */
    public record GroupLoad(String group, int target, int min, int max, int concurrency, int backlog, int freeSlots,
                            long idleTimeoutNanos, List<IdleWorker> idle) {
    }

    /** A change to make. */
    public sealed interface Step {
        /** Add {@code count} workers to the group. */
        record Grow(String group, int count, String why) implements Step {
        }

        /** Retire one idle worker of the group, which shrinks by one. */
        record Retire(String group, String workerId, String why) implements Step {
        }
    }

    private Autoscaler() {
    }

    public static List<Step> decide(List<GroupLoad> groups, long now) {
        List<Step> steps = new ArrayList<>();
        for (GroupLoad group : groups) {
            if (group.min() >= group.max()) {
                continue;
            }
            if (group.backlog() > group.freeSlots() && group.target() < group.max()) {
                int perWorker = Math.max(1, group.concurrency());
                int add = Math.min(group.max() - group.target(),
                        (group.backlog() - group.freeSlots() + perWorker - 1) / perWorker);
                steps.add(new Step.Grow(group.group(), add, group.backlog() + " tasks waiting"));
            } else if (group.backlog() == 0 && group.target() > group.min()) {
                int target = group.target();
                for (IdleWorker worker : group.idle()) {
                    if (target <= group.min()) {
                        break;
                    }
                    if (now - worker.idleSince() >= group.idleTimeoutNanos()) {
                        target--;
                        steps.add(new Step.Retire(group.group(), worker.workerId(),
                                "idle for " + Units.nanos(group.idleTimeoutNanos())));
                    }
                }
            }
        }
        return steps;
    }

    /**
     * When the next idle worker of a group above its minimum reaches its idle timeout, or {@link Long#MAX_VALUE}:
     * maintenance must look again then (a backlog wakes it anyway).
     */
    public static long nextRetirementDue(List<GroupLoad> groups) {
        long next = Long.MAX_VALUE;
        for (GroupLoad group : groups) {
            if (group.min() >= group.max() || group.target() <= group.min()) {
                continue;
            }
            for (IdleWorker worker : group.idle()) {
                long due = worker.idleSince() + group.idleTimeoutNanos();
                if (next == Long.MAX_VALUE || due - next < 0) {
                    next = due;
                }
            }
        }
        return next;
    }
}
