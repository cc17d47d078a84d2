package dev.procpool.core.internal.events;

import dev.procpool.PoolEvent;
import dev.procpool.PoolListener;
import dev.procpool.core.internal.Loggers;
import org.slf4j.Logger;

import java.util.ArrayDeque;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Delivers events to listeners on one thread, in order. Publishing never blocks: beyond {@link #MAX_BACKLOG}
 * undelivered events, new ones are dropped and counted, so a slow listener can never stall dispatch.
 *
 * <p>A listener is user code and cannot silence the others: whatever it throws, {@link Error}s included, is caught,
 * counted for that listener and logged (its first failure with the stack, then at 10, 100, 1,000 … failures with
 * the count), and delivery goes on with the next listener and the next event. That includes
 * {@link VirtualMachineError}s: an {@code OutOfMemoryError} or {@code StackOverflowError} thrown in a listener has
 * already unwound out of it; the JVM's own policy for a real out-of-memory ({@code -XX:+ExitOnOutOfMemoryError},
 * {@code -XX:+HeapDumpOnOutOfMemoryError}) acted where the allocation failed, before it reached us; rethrowing
 * would only end this thread and silence every listener, which helps nobody. Those are logged at ERROR.
 */
public final class EventBus {
    private static final Logger LOG = Loggers.pool();
    public static final int MAX_BACKLOG = 10_000;

    /** A listener and its failures. */
    private static final class Subscriber {
        final PoolListener listener;
        final AtomicLong failures = new AtomicLong();

        Subscriber(PoolListener listener) {
            this.listener = listener;
        }
    }

    private final List<Subscriber> subscribers = new CopyOnWriteArrayList<>();
    private final ArrayDeque<PoolEvent> backlog = new ArrayDeque<>();
    private final AtomicLong listenerFailures = new AtomicLong();
    private final ThreadFactory threads;
    private Thread thread;
    private long dropped;
    private boolean closed;

    public EventBus(ThreadFactory threads, List<PoolListener> initial) {
        this.threads = threads;
        initial.forEach(this::add);
    }

    public void add(PoolListener listener) {
        subscribers.add(new Subscriber(listener));
    }

    public boolean remove(PoolListener listener) {
        for (Subscriber subscriber : subscribers) {
            if (subscriber.listener.equals(listener)) {
                return subscribers.remove(subscriber);
            }
        }
        return false;
    }

    /** Whether anyone listens; publishers skip building events otherwise. */
    public boolean hasListeners() {
        return !subscribers.isEmpty();
    }

    public void publish(PoolEvent event) {
        if (subscribers.isEmpty()) {
            return;
        }
        synchronized (this) {
            if (closed) {
                return;
            }
            if (backlog.size() >= MAX_BACKLOG) {
                if (dropped++ % 1000 == 0) {
                    LOG.warn("pool {}: event listeners are too slow; {} events dropped so far", event.pool(), dropped);
                }
                return;
            }
            backlog.addLast(event);
            if (thread == null) {
                thread = threads.newThread(this::deliver);
                thread.start();
            }
            notifyAll();
        }
    }

    /** Events dropped because the backlog was full. */
    public synchronized long dropped() {
        return dropped;
    }

    /** Deliveries that ended with the listener throwing, over all listeners. */
    public long listenerFailures() {
        return listenerFailures.get();
    }

    /** Delivers what is queued, then stops the thread. */
    public void close() {
        synchronized (this) {
            closed = true;
            notifyAll();
        }
    }

    private void deliver() {
        try {
            PoolEvent event;
            while ((event = next()) != null) {
                for (Subscriber subscriber : subscribers) {
                    try {
                        subscriber.listener.onEvent(event);
                    } catch (Throwable failure) { // user code: nothing it throws may end this thread
                        failed(subscriber, event, failure);
                    }
                    Thread.interrupted(); // a listener's interrupt is not meant for this thread
                }
            }
        } finally {
            synchronized (this) {
                // normally only after close(); should this thread end any other way, the next event starts another
                thread = null;
            }
        }
    }

    /** The next event to deliver, waiting for one; {@code null} once closed and drained. */
    private synchronized PoolEvent next() {
        while (backlog.isEmpty() && !closed) {
            try {
                wait();
            } catch (InterruptedException e) {
                // only close() stops delivery; an interrupt is not a request to drop events
            }
        }
        return backlog.pollFirst();
    }

    private void failed(Subscriber subscriber, PoolEvent event, Throwable failure) {
        listenerFailures.incrementAndGet();
        long count = subscriber.failures.incrementAndGet();
        try {
            boolean fatal = failure instanceof VirtualMachineError;
            if (count == 1) {
                String message = "pool {}: event listener {} threw on {}; it keeps receiving events, and its further "
                        + "failures are counted";
                if (fatal) {
                    LOG.error(message, event.pool(), describe(subscriber.listener), event.getClass().getSimpleName(),
                            failure);
                } else {
                    LOG.warn(message, event.pool(), describe(subscriber.listener), event.getClass().getSimpleName(),
                            failure);
                }
            } else if (isPowerOfTen(count)) {
                LOG.warn("pool {}: event listener {} has failed {} times; the latest: {}", event.pool(),
                        describe(subscriber.listener), count, describe(failure));
            }
        } catch (Throwable loggingFailed) {
            // a failure's own toString or printStackTrace may throw, or the heap may really be exhausted: the count
            // above stands, and delivery goes on
        }
    }

    private static boolean isPowerOfTen(long n) {
        while (n >= 10 && n % 10 == 0) {
            n /= 10;
        }
        return n == 1;
    }

    /** {@code toString()} of user code, which may itself throw. */
    private static String describe(Object userObject) {
        try {
            return String.valueOf(userObject);
        } catch (Throwable e) {
            return userObject.getClass().getName() + "@" + Integer.toHexString(System.identityHashCode(userObject));
        }
    }
}
