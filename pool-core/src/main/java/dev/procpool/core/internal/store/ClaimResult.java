package dev.procpool.core.internal.store;

import java.time.Instant;
import java.util.List;
import java.util.Optional;

/**
 * What a claim got.
 *
 * @param tasks   the claimed tasks in run order (rank, then sequence)
 * @param nextDue when fewer tasks than asked were claimed: the earliest time a delayed or retry-waiting task of
 *                the pool becomes due (of any type), so the engine can claim again then; empty when none waits or
 *                the claim was full
 */
public record ClaimResult(List<ClaimedTask> tasks, Optional<Instant> nextDue) {
    public ClaimResult {
        tasks = List.copyOf(tasks);
    }
}
