package dev.procpool.core.internal.store;

import dev.procpool.AttemptRecord;
import dev.procpool.FailureReason;
import dev.procpool.RemoteError;
import dev.procpool.RetryPolicy;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Set;

/** Tasks and attempt records for the store tests. */
final class Tasks {
    private Tasks() {
    }

    /** A retry policy that retries a lost host. */
    static final RetryPolicy RETRY_HOST_LOST = RetryPolicy.builder().maxAttempts(3)
            .initialDelay(Duration.ofSeconds(1)).maxDelay(Duration.ofSeconds(1)).jitter(0)
            .alsoRetryOn(FailureReason.HOST_LOST).build();

    static NewTask task(String id) {
        return task(id, 10);
    }

    static NewTask task(String id, int priority) {
        return new NewTask(id, "echo", Set.of(), "{\"id\":\"" + id + "\"}", priority, priority, StoreFixture.T0,
                null, RetryPolicy.defaults(), null, StoreFixture.T0);
    }

    static NewTask typed(String id, String type, String... capabilities) {
        return new NewTask(id, type, Set.of(capabilities), "null", 10, 10, StoreFixture.T0, null,
                RetryPolicy.defaults(), null, StoreFixture.T0);
    }

    static NewTask delayed(String id, Instant notBefore) {
        return new NewTask(id, "echo", Set.of(), "1", 10, 10, notBefore, null, RetryPolicy.defaults(), null,
                StoreFixture.T0);
    }

    static NewTask withPolicy(String id, RetryPolicy policy) {
        return new NewTask(id, "echo", Set.of(), "1", 10, 10, StoreFixture.T0, Duration.ofSeconds(5), policy, "key-1",
                StoreFixture.T0);
    }

    /** A failure with every forensic field set, to check they all round-trip. */
    static AttemptRecord failure(int attempt, FailureReason reason) {
        return new AttemptRecord(attempt, "w-" + attempt, 4000 + attempt, reason, "detail " + reason, 137, 9,
                Duration.ofMillis(1234), 5_000_000L, List.of("line one", "line \u0007two"),
                new RemoteError("java.lang.IllegalStateException", "boom", "at x.y(Z.java:1)"));
    }

    static AttemptEnd success(ClaimedTask task, Instant now) {
        return AttemptEnd.succeeded(task.lease(), "{\"ok\":\"" + task.id() + "\"}", "w-1", 4001,
                Duration.ofMillis(3), now);
    }
}
