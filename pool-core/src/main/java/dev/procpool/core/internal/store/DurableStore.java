package dev.procpool.core.internal.store;

import java.time.Instant;
import java.util.Collection;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;

/**
 * The durable task store the engine runs on: the source of truth for the tasks of one pool, shared by every host
 * that opens the same store with the same pool name.
 *
 * <p>A task is inserted (durable when {@link #insert} returns), <em>claimed</em> by a host with free workers (the
 * attempt starts: its number counts, and the host holds a lease on it), run, and its attempt end is
 * <em>recorded</em>, fenced by the lease: success and final failure move the task to the ended table, a retry
 * queues it again. A host renews its leases with its heartbeat; any host rescues attempts whose lease expired
 * (their host is lost), closing them with {@code HOST_LOST} and retrying or ending the task as the engine's
 * {@link RescueDecider} says from the stored retry policy. Execution is at least once; the terminal outcome is
 * exactly once (one ended row per task).
 *
 * <p>Every method blocks, and may be called from any thread but never under the engine's lock. Writes from
 * concurrent callers share transactions (group commit). Every write is idempotent, so a caller that got a
 * {@link StoreUnavailableException} repeats it once the store is back; the store reconnects by itself.
 * Times are wall-clock instants passed in by the caller, compared across hosts: keep the hosts' clocks in sync
 * (well within the lease timeout).
 */
public interface DurableStore extends AutoCloseable {
    /**
     * Creates or migrates the schema (safe when several hosts start at once), registers this host, and starts the
     * store's threads. Called once, first.
     *
     * @param events told of new work and cancel requests; {@link StoreEvents#NONE} for none
     * @throws StoreUnavailableException if the database cannot be reached
     */
    void open(StoreEvents events);

    /** This host's identity, the owner of its leases. */
    HostIdentity host();

    /**
     * Inserts tasks in one transaction, durable on return. Idempotent by id: a task whose id exists (in any state,
     * ended tasks included while retained) is left as it is and reported with {@code created = false}, also when
     * several hosts insert the same id at the same moment.
     *
     * @return one result per task, in order
     */
    List<InsertResult> insert(List<NewTask> tasks);

    /**
     * {@link #insert} without blocking: the future completes once the tasks are durable (or fails with a
     * {@link StoreUnavailableException}), on the store's writer thread, so dependent actions must be quick and must
     * not call the store and wait.
     */
    CompletableFuture<List<InsertResult>> insertAsync(List<NewTask> tasks);

    /**
     * Claims up to {@code max} due tasks this host can serve, by rank then sequence, in one transaction: each gets
     * its next attempt number, a lease token and a lease until {@code now + leaseTimeout}. Hosts claiming at the
     * same time never get the same task.
     */
    ClaimResult claim(int max, ServedWork served, Instant now);

    /**
     * Extends the leases of every attempt this host holds to {@code now + leaseTimeout} and records that the host
     * was seen; reports which of {@code held} were lost and which have a cancel request.
     */
    RenewResult renew(Instant now, Collection<LeaseRef> held);

    /**
     * Records attempt ends in one transaction, each fenced by its lease. Idempotent: an end already recorded is
     * reported {@link RecordOutcome#APPLIED} again.
     *
     * @return one outcome per end, in order
     */
    List<RecordOutcome> record(List<AttemptEnd> ends);

    /**
     * {@link #record} without blocking, completing as {@link #insertAsync} does. An engine that records this way
     * lets its attempt ends share one commit with the next claim and with concurrent submits.
     */
    CompletableFuture<List<RecordOutcome>> recordAsync(List<AttemptEnd> ends);

    /**
     * Closes attempts whose lease expired before {@code now} (and, on this machine, those of hosts whose process is
     * gone) with {@code HOST_LOST}, and queues their tasks again or ends them as the decider says; a task with a
     * cancel request ends {@code CANCELLED}. At most a few hundred per call: call again while the result is full.
     */
    List<RescuedAttempt> rescueExpired(Instant now, RescueDecider decider);

    /** Cancels a waiting task at once, or asks the host running it to stop it. */
    CancelResult cancel(String taskId, Instant now);

    /** The task with its failed attempts, from the hot or the ended table. */
    Optional<StoredTask> find(String taskId);

    /**
     * Completes when the task has ended (here or on another host), with the ended task; at once if it already has.
     * Learned through notifications where the database has them, else by polling. Cancelling the future stops
     * watching.
     */
    CompletableFuture<StoredTask> awaitEnd(String taskId);

    /**
     * As {@link #awaitEnd}, for a task the caller knows is in the store and not ended (it just inserted it): no
     * lookup now, so watching many tasks costs nothing until they end.
     */
    CompletableFuture<StoredTask> watchEnd(String taskId);

    /** Stops watching a task (its end was learned otherwise); its watchers are left pending. */
    void unwatch(String taskId);

    /** The number of tasks waiting in the store (queued, delayed, waiting to retry): not running, not ended. */
    long waitingCount();

    /** Dead-lettered tasks, oldest first, at most {@code limit}, after skipping {@code offset}. */
    List<StoredTask> deadLetters(int offset, int limit);

    /** The number of dead-lettered tasks. */
    int deadLetterCount();

    /**
     * Moves a dead-lettered task back to the queue with a fresh attempt budget (its failed attempts are dropped)
     * and the given rank. Returns false if no dead-lettered task has this id.
     */
    boolean redrive(String taskId, long rank, Instant now);

    /** Removes one dead-lettered task; returns whether it was there. */
    boolean removeDeadLetter(String taskId);

    /** Removes every dead-lettered task of the pool; returns how many there were. */
    int purgeDeadLetters();

    /** Deletes ended tasks past their retention, and hosts gone for longer than it; returns the tasks deleted. */
    int purgeExpired(Instant now);

    /** The hosts registered for this pool, live or not. */
    List<HostRecord> hosts();

    /**
     * Stops the store's threads, marks this host stopped and expires its remaining leases (so another host
     * rescues them without waiting for the lease timeout), and closes its connections. Idempotent.
     */
    @Override
    void close();
}
