package dev.procpool.core.internal.store;

import dev.procpool.FailureReason;
import dev.procpool.RetryPolicy;
import dev.procpool.TaskState;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;

import static dev.procpool.core.internal.store.Tasks.task;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * What every durable store promises, run against each dialect on a real database: claim order, idempotent insert,
 * fencing, rescue, cancel, lookups, dead letters, retention and hosts.
 */
interface DurableStoreContract extends StoreFixture {

    private static List<String> ids(ClaimResult claim) {
        return claim.tasks().stream().map(ClaimedTask::id).toList();
    }

    @Test
    default void claimsByRankThenInsertionOrderAndOnlyWhatIsDue() {
        JdbcTaskStore store = open("a");
        store.insert(List.of(task("low-1", 50), task("high-1", 0), task("mid-1", 10), task("high-2", 0),
                task("low-2", 50), Tasks.delayed("later", at(60))));
        store.insert(List.of(task("mid-2", 10)));

        assertEquals(List.of("high-1", "high-2", "mid-1"), ids(store.claim(3, ServedWork.anything(), at(1))));
        ClaimResult rest = store.claim(10, ServedWork.anything(), at(1));
        assertEquals(List.of("mid-2", "low-1", "low-2"), ids(rest));
        assertEquals(Optional.of(at(60)), rest.nextDue(), "the delayed task is due at its not-before time");
        assertEquals(List.of(), ids(store.claim(10, ServedWork.anything(), at(59))));
        assertEquals(List.of("later"), ids(store.claim(10, ServedWork.anything(), at(60))));
    }

    @Test
    default void claimsOnlyTheTypesAndCapabilitiesTheHostServes() {
        JdbcTaskStore store = open("a");
        store.insert(List.of(Tasks.typed("plain-echo", "echo"), Tasks.typed("gpu-echo", "echo", "gpu"),
                Tasks.typed("resize", "resize"), Tasks.typed("gpu-big-resize", "resize", "gpu", "big")));

        ServedWork echoNoCaps = ServedWork.types("echo");
        assertEquals(List.of("plain-echo"), ids(store.claim(10, echoNoCaps, at(1))));
        ServedWork gpuResizer = ServedWork.of(new ServedWork.Group(Set.of("resize"), Set.of("gpu")));
        assertEquals(List.of("resize"), ids(store.claim(10, gpuResizer, at(1))), "gpu alone is not gpu+big");
        ServedWork bigGpuAnyType = ServedWork.of(new ServedWork.Group(Set.of(), Set.of("gpu", "big", "ssd")));
        assertEquals(List.of("gpu-echo", "gpu-big-resize"), ids(store.claim(10, bigGpuAnyType, at(1))));
        assertEquals(0, number("SELECT COUNT(*) FROM " + table("task") + " WHERE state = 'QUEUED'"));
    }

    @Test
    default void theSameIdTwiceIsOneTaskWhateverItsState() throws Exception {
        JdbcTaskStore store = open("a");
        List<InsertResult> first = store.insert(List.of(task("x"), task("y"), task("x")));
        assertEquals(List.of(true, true, false), first.stream().map(InsertResult::created).toList());

        ClaimedTask x = store.claim(1, ServedWork.anything(), at(1)).tasks().get(0);
        InsertResult again = store.insert(List.of(task("x"))).get(0);
        assertFalse(again.created());
        assertEquals(TaskState.RUNNING, again.state());

        store.record(List.of(Tasks.success(x, at(2))));
        InsertResult afterEnd = store.insert(List.of(task("x"))).get(0);
        assertFalse(afterEnd.created(), "an ended task keeps its id while retained");
        assertEquals(TaskState.SUCCEEDED, afterEnd.state());
        assertEquals(1, number("SELECT COUNT(*) FROM " + table("task") + " WHERE id = 'y'")
                + number("SELECT COUNT(*) FROM " + table("ended") + " WHERE id = 'y'"));
        assertEquals(0, number("SELECT COUNT(*) FROM " + table("task") + " WHERE id = 'x'"));
        assertEquals(1, number("SELECT COUNT(*) FROM " + table("ended") + " WHERE id = 'x'"));
    }

    @Test
    default void aLateAnswerFromAHostWhoseLeaseWasRescuedIsFencedOff() {
        JdbcTaskStore hostA = open("host-a");
        JdbcTaskStore hostB = open("host-b");
        hostA.insert(List.of(Tasks.withPolicy("t", Tasks.RETRY_HOST_LOST)));
        ClaimedTask onA = hostA.claim(1, ServedWork.anything(), at(0)).tasks().get(0);
        assertEquals(1, onA.attempt());
        assertEquals(at(30), onA.leaseExpires());

        assertEquals(List.of(), hostB.rescueExpired(at(29), RescueDecider.byRetryPolicy(() -> 0.5)),
                "a lease is not rescued before it expires");
        List<RescuedAttempt> rescued = hostB.rescueExpired(at(31), RescueDecider.byRetryPolicy(() -> 0.5));
        assertEquals(List.of(new RescuedAttempt(onA.lease(), "host-a", null)), rescued);
        ClaimedTask onB = hostB.claim(1, ServedWork.anything(), at(32)).tasks().get(0);
        assertEquals(2, onB.attempt());

        assertEquals(List.of(onA.lease()), hostA.renew(at(33), List.of(onA.lease())).lost());
        assertEquals(List.of(RecordOutcome.FENCED), hostA.record(List.of(Tasks.success(onA, at(33)))));
        assertEquals(TaskState.RUNNING, hostB.find("t").orElseThrow().state());
        assertEquals(List.of(RecordOutcome.APPLIED), hostB.record(List.of(Tasks.success(onB, at(34)))));

        StoredTask ended = hostA.find("t").orElseThrow();
        assertEquals(TaskState.SUCCEEDED, ended.state());
        assertEquals("{\"ok\":\"t\"}", ended.resultJson());
        assertEquals("host-b", ended.finalHost());
        assertEquals(2, ended.attempts());
        assertEquals(1, ended.failedAttempts().size());
        StoredAttempt lost = ended.failedAttempts().get(0);
        assertEquals("host-a", lost.host());
        assertEquals(FailureReason.HOST_LOST, lost.record().reason());
        assertEquals(Duration.ofSeconds(31), lost.record().duration());
    }

    @Test
    default void aRenewedLeaseIsNotRescued() {
        JdbcTaskStore hostA = open("host-a");
        JdbcTaskStore hostB = open("host-b");
        hostA.insert(List.of(task("t")));
        ClaimedTask claimed = hostA.claim(1, ServedWork.anything(), at(0)).tasks().get(0);
        RenewResult renewed = hostA.renew(at(20), List.of(claimed.lease()));
        assertEquals(List.of(), renewed.lost());
        assertEquals(List.of(), hostB.rescueExpired(at(45), RescueDecider.byRetryPolicy(() -> 0.5)));
        assertEquals(1, hostB.rescueExpired(at(51), RescueDecider.byRetryPolicy(() -> 0.5)).size());
    }

    @Test
    default void rescueRetriesOrDeadLettersByTheStoredPolicyAndTheAttemptCounts() {
        JdbcTaskStore store = open("a");
        RetryPolicy once = RetryPolicy.builder().maxAttempts(1).build();
        store.insert(List.of(Tasks.withPolicy("retried", Tasks.RETRY_HOST_LOST), Tasks.withPolicy("once", once)));
        store.claim(2, ServedWork.anything(), at(0));
        assertEquals(List.of(), store.rescueExpired(at(31), RescueDecider.byRetryPolicy(() -> 0.5)),
                "a host's own leases, expired once: it is alive, and a late renewal may still extend them");
        List<RescuedAttempt> first = store.rescueExpired(at(61), RescueDecider.byRetryPolicy(() -> 0.5));
        assertEquals(2, first.size());
        assertEquals(TaskState.RETRY_WAIT, store.find("retried").orElseThrow().state());
        assertEquals(at(62), store.find("retried").orElseThrow().notBefore(), "after the policy's 1 s backoff");
        StoredTask dead = store.find("once").orElseThrow();
        assertEquals(TaskState.DEAD_LETTERED, dead.state());
        assertEquals(FailureReason.HOST_LOST, dead.failureReason());

        // the retried task runs out of its 3 attempts: each rescue counts one
        for (int round = 2; round <= 3; round++) {
            long base = 100L * round;
            ClaimedTask claimed = store.claim(1, ServedWork.anything(), at(base)).tasks().get(0);
            assertEquals(round, claimed.attempt());
            store.rescueExpired(at(base + 61), RescueDecider.byRetryPolicy(() -> 0.5));
        }
        StoredTask retried = store.find("retried").orElseThrow();
        assertEquals(TaskState.DEAD_LETTERED, retried.state());
        assertEquals(List.of(1, 2, 3), retried.failedAttempts().stream().map(a -> a.record().attempt()).toList());
        assertEquals(2, store.deadLetterCount());
    }

    @Test
    default void cancelEndsAWaitingTaskAtOnceAndAsksTheHostOfARunningOne() {
        List<String> cancelsSeen = new CopyOnWriteArrayList<>();
        JdbcTaskStore store = open("a", settings(), new StoreEvents() {
            @Override
            public void cancelRequested(String taskId) {
                cancelsSeen.add(taskId);
            }
        });
        store.insert(List.of(task("running"), task("failing"), task("waiting")));
        List<ClaimedTask> claimed = store.claim(2, ServedWork.anything(), at(0)).tasks();
        assertEquals(List.of("running", "failing"), claimed.stream().map(ClaimedTask::id).toList());
        ClaimedTask running = claimed.get(0);
        ClaimedTask failing = claimed.get(1);

        assertEquals(new CancelResult(CancelResult.Outcome.CANCELLED, TaskState.CANCELLED, null),
                store.cancel("waiting", at(1)));
        assertEquals(TaskState.CANCELLED, store.find("waiting").orElseThrow().state());
        assertEquals(CancelResult.Outcome.REQUESTED, store.cancel(running.id(), at(1)).outcome());
        assertEquals(CancelResult.Outcome.REQUESTED, store.cancel(failing.id(), at(1)).outcome());
        await().atMost(Duration.ofSeconds(10)).until(() -> cancelsSeen.size() == 2);
        RenewResult renewed = store.renew(at(2), claimed.stream().map(ClaimedTask::lease).toList());
        assertEquals(Set.of(running.lease(), failing.lease()), Set.copyOf(renewed.cancelRequested()));

        // the engine stops the first and records it cancelled; the second failed meanwhile and asks for a retry
        assertEquals(List.of(RecordOutcome.APPLIED, RecordOutcome.CANCELLED), store.record(List.of(
                AttemptEnd.ended(running.lease(), TaskState.CANCELLED, Tasks.failure(1, FailureReason.CANCELLED),
                        "cancelled", at(3)),
                AttemptEnd.retry(failing.lease(), Tasks.failure(1, FailureReason.WORKER_CRASHED), at(4), at(3)))));
        assertEquals(TaskState.CANCELLED, store.find(failing.id()).orElseThrow().state(),
                "a cancel wins over a retry");
        assertEquals(new CancelResult(CancelResult.Outcome.ALREADY_ENDED, TaskState.CANCELLED, null),
                store.cancel(running.id(), at(5)));
        assertEquals(CancelResult.Outcome.NOT_FOUND, store.cancel("nobody", at(5)).outcome());
    }

    @Test
    default void findReadsEveryStateAndTheFullForensicsFromBothTables() {
        JdbcTaskStore store = open("a");
        store.insert(List.of(Tasks.withPolicy("t", Tasks.RETRY_HOST_LOST), task("queued")));
        StoredTask queued = store.find("queued").orElseThrow();
        assertEquals(TaskState.QUEUED, queued.state());
        assertEquals("{\"id\":\"queued\"}", queued.payloadJson());
        assertEquals(RetryPolicy.defaults().toString(), queued.retryPolicy().toString());

        ClaimedTask first = store.claim(1, ServedWork.types("echo"), at(0)).tasks().get(0);
        assertEquals("t", first.id());
        assertEquals(Duration.ofSeconds(5), first.timeout());
        assertEquals("key-1", first.affinityKey());
        assertEquals(Tasks.RETRY_HOST_LOST.toString(), first.retryPolicy().toString());
        StoredTask running = store.find("t").orElseThrow();
        assertEquals(TaskState.RUNNING, running.state());
        assertEquals("a", running.leaseOwner());

        store.record(List.of(AttemptEnd.retry(first.lease(), Tasks.failure(1, FailureReason.WORKER_CRASHED), at(10),
                at(1))));
        assertEquals(TaskState.RETRY_WAIT, store.find("t").orElseThrow().state());
        assertEquals(List.of(), store.claim(5, ServedWork.types("echo"), at(9)).tasks().stream()
                .filter(c -> c.id().equals("t")).toList());
        ClaimedTask second = store.claim(5, ServedWork.types("echo"), at(10)).tasks().get(0);
        assertEquals(2, second.attempt());
        store.record(List.of(AttemptEnd.ended(second.lease(), TaskState.DEAD_LETTERED,
                Tasks.failure(2, FailureReason.OUT_OF_MEMORY), "out of memory twice", at(11))));

        StoredTask dead = store.find("t").orElseThrow();
        assertEquals(TaskState.DEAD_LETTERED, dead.state());
        assertEquals(FailureReason.OUT_OF_MEMORY, dead.failureReason());
        assertEquals("out of memory twice", dead.failureMessage());
        assertEquals(at(11), dead.endedAt());
        assertEquals(at(11).plus(Duration.ofDays(30)), dead.expiresAt());
        assertEquals(List.of(Tasks.failure(1, FailureReason.WORKER_CRASHED), Tasks.failure(2,
                FailureReason.OUT_OF_MEMORY)), dead.failedAttempts().stream().map(StoredAttempt::record).toList());
        assertEquals(List.of("a", "a"), dead.failedAttempts().stream().map(StoredAttempt::host).toList());
        assertEquals(Optional.empty(), store.find("never"));
    }

    @Test
    default void recordingTheSameEndAgainIsAppliedOnce() {
        JdbcTaskStore store = open("a");
        store.insert(List.of(task("done"), task("again")));
        List<ClaimedTask> claimed = store.claim(2, ServedWork.anything(), at(0)).tasks();
        AttemptEnd success = Tasks.success(claimed.get(0), at(1));
        AttemptEnd retry = AttemptEnd.retry(claimed.get(1).lease(), Tasks.failure(1, FailureReason.HUNG), at(1),
                at(1));
        assertEquals(List.of(RecordOutcome.APPLIED, RecordOutcome.APPLIED, RecordOutcome.APPLIED),
                store.record(List.of(success, retry, success)));
        assertEquals(List.of(RecordOutcome.APPLIED, RecordOutcome.APPLIED), store.record(List.of(success, retry)),
                "a repeated call (its first commit unconfirmed) is not a fenced answer");
        assertEquals(1, number("SELECT COUNT(*) FROM " + table("ended") + " WHERE id = 'done'"));
        assertEquals(1, number("SELECT COUNT(*) FROM " + table("attempt") + " WHERE task_id = 'again'"));
    }

    @Test
    default void deadLettersAreListedRedrivenRemovedAndPurged() {
        JdbcTaskStore store = open("a");
        RetryPolicy once = RetryPolicy.builder().maxAttempts(1).build();
        store.insert(List.of(Tasks.withPolicy("d1", once), Tasks.withPolicy("d2", once),
                Tasks.withPolicy("d3", once)));
        List<ClaimedTask> claimed = store.claim(3, ServedWork.anything(), at(0)).tasks();
        for (ClaimedTask c : claimed) {
            Instant endedAt = at(Long.parseLong(c.id().substring(1)));
            store.record(List.of(AttemptEnd.ended(c.lease(), TaskState.DEAD_LETTERED,
                    Tasks.failure(1, FailureReason.HANDLER_ERROR), "gave up", endedAt)));
        }
        assertEquals(List.of("d1", "d2", "d3"), store.deadLetters(0, 10).stream().map(StoredTask::id).toList());
        assertEquals(List.of("d2"), store.deadLetters(1, 1).stream().map(StoredTask::id).toList());
        assertEquals(1, store.deadLetters(0, 1).get(0).failedAttempts().size());

        assertTrue(store.redrive("d1", 5, at(10)));
        assertFalse(store.redrive("d1", 5, at(10)), "no longer a dead letter");
        StoredTask redriven = store.find("d1").orElseThrow();
        assertEquals(TaskState.QUEUED, redriven.state());
        assertEquals(List.of(), redriven.failedAttempts());
        ClaimedTask again = store.claim(1, ServedWork.anything(), at(10)).tasks().get(0);
        assertEquals("d1", again.id());
        assertEquals(1, again.attempt(), "a fresh attempt budget");

        assertTrue(store.removeDeadLetter("d2"));
        assertFalse(store.removeDeadLetter("d2"));
        assertEquals(1, store.purgeDeadLetters());
        assertEquals(0, store.deadLetterCount());
        assertEquals(0, number("SELECT COUNT(*) FROM " + table("attempt") + " WHERE task_id IN ('d2', 'd3')"));
    }

    @Test
    default void retentionPurgesEndedTasksAndTheirAttemptsButNotWhatIsStillRetained() {
        JdbcTaskStore store = open("a", settings().retention(Duration.ofHours(1))
                .deadLetterRetention(Duration.ofHours(5)), StoreEvents.NONE);
        store.insert(List.of(task("ok"), Tasks.withPolicy("dead", RetryPolicy.none()), task("waiting")));
        List<ClaimedTask> claimed = store.claim(2, ServedWork.anything(), at(0)).tasks();
        ClaimedTask ok = claimed.stream().filter(c -> c.id().equals("ok")).findFirst().orElseThrow();
        ClaimedTask dead = claimed.stream().filter(c -> c.id().equals("dead")).findFirst().orElseThrow();
        store.record(List.of(Tasks.success(ok, at(0)), AttemptEnd.ended(dead.lease(), TaskState.DEAD_LETTERED,
                Tasks.failure(1, FailureReason.HANDLER_ERROR), "no", at(0))));

        assertEquals(0, store.purgeExpired(at(3599)));
        assertEquals(1, store.purgeExpired(at(3600)));
        assertEquals(Optional.empty(), store.find("ok"));
        assertEquals(TaskState.DEAD_LETTERED, store.find("dead").orElseThrow().state());
        assertEquals(TaskState.QUEUED, store.find("waiting").orElseThrow().state(), "waiting tasks never expire");
        assertEquals(1, store.purgeExpired(at(5 * 3600)));
        assertEquals(0, number("SELECT COUNT(*) FROM " + table("attempt")));
        assertTrue(store.insert(List.of(task("ok"))).get(0).created(), "a purged id may be used again");
    }

    @Test
    default void hostsRegisterRenewAndStop() {
        JdbcTaskStore a = open("host-a");
        JdbcTaskStore b = open("host-b");
        List<HostRecord> hosts = a.hosts();
        assertEquals(Set.of("host-a", "host-b"), Set.copyOf(hosts.stream().map(HostRecord::name).toList()));
        HostRecord first = hosts.get(0);
        assertEquals(ProcessHandle.current().pid(), first.pid());
        assertNull(first.stoppedAt());
        assertEquals(HostIdentity.localMachine().orElse(null), first.machine());

        b.renew(at(3600), List.of());
        HostRecord renewed = a.hosts().stream().filter(h -> h.name().equals("host-b")).findFirst().orElseThrow();
        assertEquals(at(3600), renewed.lastSeen());
        assertTrue(renewed.isLive(at(3600), Duration.ofSeconds(30)));
        b.close();
        assertTrue(a.hosts().stream().filter(h -> h.name().equals("host-b")).findFirst().orElseThrow().stoppedAt()
                != null);
    }

    @Test
    default void closingAHostLetsOthersRescueItsAttemptsAtOnce() {
        JdbcTaskStore a = open("host-a");
        JdbcTaskStore b = open("host-b");
        a.insert(List.of(Tasks.withPolicy("t", Tasks.RETRY_HOST_LOST)));
        ClaimedTask claimed = a.claim(1, ServedWork.anything(), Instant.now()).tasks().get(0);
        a.close();
        List<RescuedAttempt> rescued = b.rescueExpired(Instant.now(), RescueDecider.byRetryPolicy(() -> 0.5));
        assertEquals(List.of(claimed.lease()), rescued.stream().map(RescuedAttempt::lease).toList());
    }

    @Test
    default void aWaiterLearnsOfAnEndOnAnotherHost() throws Exception {
        JdbcTaskStore runner = open("runner");
        JdbcTaskStore waiter = open("waiter");
        runner.insert(List.of(task("t")));
        CompletableFuture<StoredTask> end = waiter.awaitEnd("t");
        assertFalse(end.isDone());
        ClaimedTask claimed = runner.claim(1, ServedWork.anything(), at(0)).tasks().get(0);
        runner.record(List.of(Tasks.success(claimed, at(1))));
        StoredTask ended = end.get(10, java.util.concurrent.TimeUnit.SECONDS);
        assertEquals(TaskState.SUCCEEDED, ended.state());
        assertEquals(TaskState.SUCCEEDED, waiter.awaitEnd("t").getNow(null).state(), "already ended: at once");
        assertThrows(java.util.concurrent.ExecutionException.class, () -> waiter.awaitEnd("missing").get());
    }

    @Test
    default void badArgumentsAreRefusedWithTheValueAndWhatIsAllowed() {
        JdbcTaskStore store = open("a");
        IllegalArgumentException max = assertThrows(IllegalArgumentException.class,
                () -> store.claim(0, ServedWork.anything(), at(0)));
        assertEquals("max must be 1 or more, was 0", max.getMessage());
        IllegalArgumentException nothing = assertThrows(IllegalArgumentException.class,
                () -> store.claim(1, new ServedWork(List.of(), false), at(0)));
        assertTrue(nothing.getMessage().contains("ServedWork.anything()"), nothing.getMessage());
        assertThrows(IllegalStateException.class, () -> store.open(StoreEvents.NONE));
    }
}
