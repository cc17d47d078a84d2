package dev.procpool.core.internal.events;

import dev.procpool.PoolEvent;
import dev.procpool.PoolListener;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayDeque;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ThreadFactory;

/**
 * Delivers events to listeners on one thread, in order. Publishing never blocks: beyond {@link #MAX_BACKLOG}
 * undelivered events, new ones are dropped and counted, so a slow listener can never stall dispatch.
 */
public final class EventBus {
    private static final Logger LOG = LoggerFactory.getLogger(EventBus.class);
    public static final int MAX_BACKLOG = 10_000;

    private final List<PoolListener> listeners = new CopyOnWriteArrayList<>();
    private final ArrayDeque<PoolEvent> backlog = new ArrayDeque<>();
    private final java.util.Set<PoolListener> failedListeners = java.util.concurrent.ConcurrentHashMap.newKeySet();
    private final ThreadFactory threads;
    private Thread thread;
    private long dropped;
    private boolean closed;

    public EventBus(ThreadFactory threads, List<PoolListener> initial) {
        this.threads = threads;
        listeners.addAll(initial);
    }

    public void add(PoolListener listener) {
        listeners.add(listener);
    }

    public boolean remove(PoolListener listener) {
        return listeners.remove(listener);
    }

    /** Whether anyone listens; publishers skip building events otherwise. */
    public boolean hasListeners() {
        return !listeners.isEmpty();
    }

    public void publish(PoolEvent event) {
        if (listeners.isEmpty()) {
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

    /** Delivers what is queued, then stops the thread. */
    public void close() {
        synchronized (this) {
            closed = true;
            notifyAll();
        }
    }

    private void deliver() {
        while (true) {
            PoolEvent event;
            synchronized (this) {
                while (backlog.isEmpty() && !closed) {
                    try {
                        wait();
                    } catch (InterruptedException e) {
                        return;
                    }
                }
                event = backlog.pollFirst();
                if (event == null) {
                    return; // closed and drained
                }
            }
            for (PoolListener listener : listeners) {
                try {
                    listener.onEvent(event);
                } catch (RuntimeException e) {
                    if (failedListeners.add(listener)) { // the first failure with its stack, then briefly
                        LOG.warn("pool {}: event listener {} failed on {}", event.pool(), listener, event, e);
                    } else {
                        LOG.debug("pool {}: event listener {} failed again: {}", event.pool(), listener, e.toString());
                    }
                }
            }
        }
    }
}
