package dev.procpool.core.internal.engine;

import dev.procpool.PoolEvent;
import dev.procpool.WorkerState;
import dev.procpool.core.internal.scale.Autoscaler;
import dev.procpool.core.internal.Loggers;
import org.slf4j.Logger;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.function.ToIntFunction;

/**
 * Changing a group's size: by the application ({@code scaleUp}/{@code scaleDown}) or by the {@link Autoscaler}'s
 * verdicts, whose input (each scalable group's load) it also gathers. Called under the engine's lock.
 */
final class Scaling {
    private static final Logger LOG = Loggers.pool();

    private final EngineContext ctx;
    private final Supervisor supervisor;
    private final WorkerStops stops;

    Scaling(EngineContext ctx, Supervisor supervisor, WorkerStops stops) {
        this.ctx = ctx;
        this.supervisor = supervisor;
        this.stops = stops;
    }

    void scale(GroupRuntime group, int delta, String why, Effects fx) {
        if (delta > 0) {
            scaleUp(group, delta, why, fx);
        } else {
            scaleDown(group, -delta, why, fx);
        }
    }

    private void scaleUp(GroupRuntime group, int count, String why, Effects fx) {
        int from = group.target;
        group.target += count;
        group.max = Math.max(group.max, group.target);
        long now = ctx.now();
        supervisor.promoteSpares(group);
        supervisor.topUp(group, now);
        scaled(group, from, why);
        supervisor.spawnDue(now, fx);
    }

    /** Removes workers: starts not yet launched first, then idle workers, then busy ones after their task. */
    private void scaleDown(GroupRuntime group, int count, String why, Effects fx) {
        int from = group.target;
        group.target -= count;
        group.min = Math.min(group.min, group.target);
        int left = count;
        while (left > 0 && !group.pendingSpawns.isEmpty()) {
            group.pendingSpawns.poll();
            left--;
        }
        List<WorkerRecord> members = supervisor.workers.stream()
                .filter(w -> w.group == group && w.isActiveMember())
                .sorted(Comparator.comparingInt((WorkerRecord w) -> w.inFlight.size()))
                .toList();
        for (WorkerRecord worker : members) {
            if (left == 0) {
                break;
            }
            left--;
            if (worker.inFlight.isEmpty()) {
                stops.begin(worker, null, why, worker.state == WorkerState.STARTING ? WorkerStops.Mode.KILL
                        : WorkerStops.Mode.ASK, fx);
            } else {
                supervisor.retire(worker, why, false, fx);
            }
        }
        scaled(group, from, why);
    }

    private void scaled(GroupRuntime group, int from, String why) {
        LOG.info("group {} of pool {}: {} → {} workers ({})", group.name(), ctx.name(), from, group.target, why);
        if (ctx.listening()) {
            ctx.publish(new PoolEvent.Scaled(ctx.name(), ctx.clock.instant(), group.name(), from, group.target));
        }
    }

    /** The load of every scalable group now, for the {@link Autoscaler}. */
    List<Autoscaler.GroupLoad> loads(ToIntFunction<GroupRuntime> backlog) {
        List<Autoscaler.GroupLoad> loads = new ArrayList<>();
        for (GroupRuntime group : supervisor.groups.values()) {
            if (group.min >= group.max) {
                continue;
            }
            int concurrency = group.config.maxConcurrency();
            int free = group.pendingSpawns.size() * concurrency;
            List<Autoscaler.IdleWorker> idle = new ArrayList<>();
            for (WorkerRecord worker : supervisor.workers) {
                if (worker.group == group && worker.isActiveMember()) {
                    free += worker.isReady() ? worker.maxConcurrency - worker.inFlight.size() : concurrency;
                    if (worker.state == WorkerState.IDLE) {
                        idle.add(new Autoscaler.IdleWorker(worker.id, worker.idleSince));
                    }
                }
            }
            loads.add(new Autoscaler.GroupLoad(group.name(), group.target, group.min, group.max, concurrency,
                    backlog.applyAsInt(group), free, group.config.idleTimeout().toNanos(), idle));
        }
        return loads;
    }

    /** Carries out the autoscaler's steps. */
    void apply(List<Autoscaler.Step> steps, Effects fx) {
        for (Autoscaler.Step step : steps) {
            if (step instanceof Autoscaler.Step.Grow grow) {
                scaleUp(supervisor.groups.get(grow.group()), grow.count(), grow.why(), fx);
            } else if (step instanceof Autoscaler.Step.Retire retire) {
                GroupRuntime group = supervisor.groups.get(retire.group());
                WorkerRecord worker = supervisor.workers.stream().filter(w -> w.id.equals(retire.workerId())).findFirst()
                        .orElse(null);
                if (worker == null || !worker.isActiveMember() || worker.state != WorkerState.IDLE) {
                    continue;
                }
                int from = group.target;
                group.target--;
                stops.begin(worker, null, retire.why(), WorkerStops.Mode.ASK, fx);
                LOG.info("group {} of pool {}: {} → {} workers ({} {})", group.name(), ctx.name(), from,
                        group.target, worker.id, retire.why());
                if (ctx.listening()) {
                    ctx.publish(new PoolEvent.Scaled(ctx.name(), ctx.clock.instant(), group.name(), from,
                            group.target));
                }
            }
        }
    }
}
