package dev.procpool;

import java.time.Duration;
import java.time.Instant;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * An immutable description of one task: its type (which handler runs it), its payload, and how the pool should
 * treat it. Build one with {@link #of(String, Object)} and refine it with the {@code with…} methods, each of which
 * returns a new request.
 *
 * <p>The payload is any object the pool's {@link PoolConfig#payloadCodec() payload codec} can write as JSON (by
 * default Jackson, without type information: a record, a map, a list, a string, a number, or a Jackson tree; a value
 * with nothing to write is refused). It is serialized once, when the task is submitted, so later changes to the
 * object do not affect the task.
 *
 * <p>Priorities: a lower number runs first; {@value #HIGHEST_PRIORITY} is the highest, {@value #DEFAULT_PRIORITY}
 * the default and {@value #LOWEST_PRIORITY} the lowest. Tasks of equal priority run in submission order.
 */
public final class TaskRequest {
    /** The most urgent priority. */
    public static final int HIGHEST_PRIORITY = 0;
    /** The priority of a request that does not set one. */
    public static final int DEFAULT_PRIORITY = 10;
    /** The least urgent priority. */
    public static final int LOWEST_PRIORITY = 100;
    /** The longest task id accepted. */
    public static final int MAX_ID_LENGTH = 200;

    private final String type;
    private final Object payload;
    private final int priority;
    private final Duration timeout;
    private final String id;
    private final RetryPolicy retryPolicy;
    private final Set<String> requiredCapabilities;
    private final String affinityKey;
    private final Instant notBefore;

    private TaskRequest(String type, Object payload, int priority, Duration timeout, String id,
                        RetryPolicy retryPolicy, Set<String> requiredCapabilities, String affinityKey,
                        Instant notBefore) {
        this.notBefore = notBefore;
        this.type = type;
        this.payload = payload;
        this.priority = priority;
        this.timeout = timeout;
        this.id = id;
        this.retryPolicy = retryPolicy;
        this.requiredCapabilities = requiredCapabilities;
        this.affinityKey = affinityKey;
    }

    /**
     * A request of the given type with the given payload, default priority, the pool's default timeout and a
     * generated id.
     *
     * @param type    the task type, matched against the types workers serve; not blank
     * @param payload the task's input, written as JSON; may be {@code null}
     * @return the new request
     */
    public static TaskRequest of(String type, Object payload) {
        Objects.requireNonNull(type, "type");
        if (type.isBlank()) {
            throw new IllegalArgumentException("type must not be blank");
        }
        return new TaskRequest(type, payload, DEFAULT_PRIORITY, null, null, null, Set.of(), null, null);
    }

    /**
     * This request with another priority.
     *
     * @param priority from {@value #HIGHEST_PRIORITY} (runs first) to {@value #LOWEST_PRIORITY} (runs last)
     * @return a copy of this request with that priority
     */
    public TaskRequest withPriority(int priority) {
        if (priority < HIGHEST_PRIORITY || priority > LOWEST_PRIORITY) {
            throw new IllegalArgumentException("priority must be between " + HIGHEST_PRIORITY + " (highest) and "
                    + LOWEST_PRIORITY + " (lowest), was " + priority);
        }
        return new TaskRequest(type, payload, priority, timeout, id, retryPolicy, requiredCapabilities, affinityKey,
                notBefore);
    }

    /**
     * This request with its own timeout, counted from the moment a worker receives it (never including worker
     * start-up or time in the queue).
     *
     * @param timeout a positive duration
     * @return a copy of this request with that timeout
     */
    public TaskRequest withTimeout(Duration timeout) {
        Objects.requireNonNull(timeout, "timeout");
        if (timeout.isNegative() || timeout.isZero()) {
            throw new IllegalArgumentException("timeout must be positive, was " + timeout);
        }
        return new TaskRequest(type, payload, priority, timeout, id, retryPolicy, requiredCapabilities, affinityKey,
                notBefore);
    }

    /**
     * This request with a caller-chosen id, for correlation with the caller's own records. An id must be unique
     * among the tasks the pool holds at the time of submission.
     *
     * @param id 1 to {@value #MAX_ID_LENGTH} printable ASCII characters without spaces
     * @return a copy of this request with that id
     */
    public TaskRequest withId(String id) {
        Objects.requireNonNull(id, "id");
        if (id.isEmpty() || id.length() > MAX_ID_LENGTH || !id.chars().allMatch(c -> c > 0x20 && c < 0x7f)) {
            throw new IllegalArgumentException("id must be 1 to " + MAX_ID_LENGTH
                    + " printable ASCII characters without spaces, was \"" + id + "\"");
        }
        return new TaskRequest(type, payload, priority, timeout, id, retryPolicy, requiredCapabilities, affinityKey,
                notBefore);
    }

    /**
     * This request with its own retry policy instead of the pool's.
     *
     * @param retryPolicy the policy for this task
     * @return a copy of this request with that policy
     */
    public TaskRequest withRetryPolicy(RetryPolicy retryPolicy) {
        Objects.requireNonNull(retryPolicy, "retryPolicy");
        return new TaskRequest(type, payload, priority, timeout, id, retryPolicy, requiredCapabilities, affinityKey,
                notBefore);
    }

    /**
     * This request with capabilities a worker must have to run it (configured on its group or announced by the
     * worker). A task that no group of the pool could ever serve is rejected at submission.
     *
     * @param capabilities the capabilities required; none blank
     * @return a copy of this request with those capabilities
     */
    public TaskRequest withRequiredCapabilities(String... capabilities) {
        Objects.requireNonNull(capabilities, "capabilities");
        for (String capability : capabilities) {
            if (capability == null || capability.isBlank()) {
                throw new IllegalArgumentException("capabilities must not be blank, got "
                        + java.util.Arrays.toString(capabilities));
            }
        }
        return new TaskRequest(type, payload, priority, timeout, id, retryPolicy, Set.of(capabilities), affinityKey,
                notBefore);
    }

    /**
     * This request with an affinity key: tasks with the same key go to the same worker while it is alive and free,
     * so that per-key warm state is reused; otherwise the load balancer chooses.
     *
     * @param key the affinity key, 1 to {@value #MAX_ID_LENGTH} characters
     * @return a copy of this request with that key
     */
    public TaskRequest withAffinityKey(String key) {
        Objects.requireNonNull(key, "key");
        if (key.isEmpty() || key.length() > MAX_ID_LENGTH) {
            throw new IllegalArgumentException("affinity key must be 1 to " + MAX_ID_LENGTH + " characters, was \""
                    + key + "\"");
        }
        return new TaskRequest(type, payload, priority, timeout, id, retryPolicy, requiredCapabilities, key,
                notBefore);
    }

    /**
     * This request to run no earlier than {@code notBefore}: it waits without holding a worker until then (with a
     * durable task store, in the store, ordered by it), then queues by its priority. A time in the past runs it as
     * soon as any other task.
     *
     * @param notBefore the earliest time the task may start
     * @return a copy of this request that waits until then
     */
    public TaskRequest withNotBefore(Instant notBefore) {
        Objects.requireNonNull(notBefore, "notBefore");
        return new TaskRequest(type, payload, priority, timeout, id, retryPolicy, requiredCapabilities, affinityKey,
                notBefore);
    }

    /**
     * This request to run no earlier than {@code delay} from now: {@code withNotBefore(Instant.now().plus(delay))}.
     *
     * @param delay zero or positive
     * @return a copy of this request that waits that long
     */
    public TaskRequest withDelay(Duration delay) {
        Objects.requireNonNull(delay, "delay");
        if (delay.isNegative()) {
            throw new IllegalArgumentException("delay must not be negative, was " + delay);
        }
        return withNotBefore(Instant.now().plus(delay));
    }

    /** {@return the earliest time the task may start, if it must wait} */
    public Optional<Instant> notBefore() {
        return Optional.ofNullable(notBefore);
    }

    /**
     * {@return the capabilities a worker must have to run this task; empty when any worker of the right type will do}
     */
    public Set<String> requiredCapabilities() {
        return requiredCapabilities;
    }

    /** {@return the affinity key, if any} */
    public Optional<String> affinityKey() {
        return Optional.ofNullable(affinityKey);
    }

    /** {@return this request's own retry policy, if it has one; otherwise the pool's applies} */
    public Optional<RetryPolicy> retryPolicy() {
        return Optional.ofNullable(retryPolicy);
    }

    /** {@return the task type} */
    public String type() {
        return type;
    }

    /** {@return the payload as given; may be {@code null}} */
    public Object payload() {
        return payload;
    }

    /** {@return the priority, {@value #HIGHEST_PRIORITY} to {@value #LOWEST_PRIORITY}} */
    public int priority() {
        return priority;
    }

    /** {@return this request's own timeout, if it has one; otherwise the pool's default applies} */
    public Optional<Duration> timeout() {
        return Optional.ofNullable(timeout);
    }

    /** {@return the caller-chosen id, if any; otherwise the pool assigns one at submission} */
    public Optional<String> id() {
        return Optional.ofNullable(id);
    }

    @Override
    public String toString() {
        return "TaskRequest{type=" + type + ", priority=" + priority
                + (timeout == null ? "" : ", timeout=" + timeout) + (id == null ? "" : ", id=" + id)
                + (requiredCapabilities.isEmpty() ? "" : ", requires=" + requiredCapabilities)
                + (affinityKey == null ? "" : ", affinityKey=" + affinityKey)
                + (notBefore == null ? "" : ", notBefore=" + notBefore) + '}';
    }
}
