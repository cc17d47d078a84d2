package dev.procpool.core.internal.engine;

import dev.procpool.FailureReason;
import dev.procpool.TaskState;
import dev.procpool.core.internal.retry.RetryDecision;
import dev.procpool.core.internal.store.DurableStore;
import dev.procpool.core.internal.store.LeaseRef;
import dev.procpool.core.internal.store.RenewResult;
import dev.procpool.core.internal.store.RescueDecider;
import dev.procpool.core.internal.store.RescuedAttempt;
import dev.procpool.core.internal.Loggers;
import org.slf4j.Logger;

import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BooleanSupplier;

/**
 * The leases of a durable store, on the store's thread: this host renews the leases it holds every heartbeat (and
 * learns which it lost and which tasks a caller cancelled elsewhere), and rescues the attempts of hosts that stopped
 * renewing theirs: each is closed with {@code HOST_LOST} and its task retried, failed or dead-lettered by the task's
 * own retry policy, the attempt counted.
 */
final class LeaseKeeper {
    private static final Logger LOG = Loggers.store();
    /** A rescue call closes at most this many attempts; a full one is followed by another. */
    private static final int RESCUE_BATCH = 100;

    private final DurableStore store;
    private final StoreLink link;
    private final EngineContext ctx;
    private final AtomicLong rescued = new AtomicLong();

    LeaseKeeper(DurableStore store, StoreLink link, EngineContext ctx) {
        this.store = store;
        this.link = link;
        this.ctx = ctx;
    }

    /** Renews this host's leases; abandons the attempts whose lease another host took, cancels what was cancelled. */
    void renew() {
        long start = System.nanoTime();
        RenewResult renewed = store.renew(ctx.clock.instant(), link.heldLeases());
        ctx.trackers.storeCall("renew", System.nanoTime() - start, true);
        if (!renewed.lost().isEmpty()) {
            link.leasesLost(renewed.lost());
        }
        if (!renewed.cancelRequested().isEmpty()) {
            link.cancelRequested(renewed.cancelRequested().stream().map(LeaseRef::taskId).toList());
        }
    }

    /** Rescues the attempts of lost hosts, deciding each task's fate by its own retry policy, until none is left. */
    void rescue(BooleanSupplier stopped) {
        RescueDecider decider = (attempt, now) -> {
            RetryDecision decision = RetryDecision.after(attempt.retryPolicy(), FailureReason.HOST_LOST,
                    attempt.lease().attempt(), true, true, ctx.random.getAsDouble());
            String lost = "host " + attempt.leaseOwner() + " was lost during attempt " + attempt.lease().attempt();
            return switch (decision.outcome()) {
                case RETRY -> RescueDecider.Decision.retryAt(now.plusNanos(decision.delayNanos()));
                case DEAD_LETTER -> RescueDecider.Decision.end(TaskState.DEAD_LETTERED, lost);
                case FAIL -> RescueDecider.Decision.end(TaskState.FAILED, lost);
            };
        };
        int batch;
        do {
            List<RescuedAttempt> done = store.rescueExpired(ctx.clock.instant(), decider);
            batch = done.size();
            rescued.addAndGet(batch);
            for (RescuedAttempt attempt : done) {
                LOG.info("task {}: attempt {} of lost host {} closed (HOST_LOST); {}", attempt.lease().taskId(),
                        attempt.lease().attempt(), attempt.leaseOwner(),
                        attempt.outcome() == null ? "queued again" : "ended " + attempt.outcome());
            }
        } while (batch >= RESCUE_BATCH && !stopped.getAsBoolean());
    }

    /** {@return the attempts of lost hosts this host closed} */
    long rescued() {
        return rescued.get();
    }
}
