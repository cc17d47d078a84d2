package dev.procpool.core.internal.store;

import java.util.List;

/**
 * What a renewal found about the attempts this host holds.
 *
 * @param lost            attempts the host holds that are no longer its own (rescued after their lease expired):
 *                        stop them, their answers will be fenced off
 * @param cancelRequested attempts the host holds whose task someone asked to cancel
 */
public record RenewResult(List<LeaseRef> lost, List<LeaseRef> cancelRequested) {
    public RenewResult {
        lost = List.copyOf(lost);
        cancelRequested = List.copyOf(cancelRequested);
    }
}
