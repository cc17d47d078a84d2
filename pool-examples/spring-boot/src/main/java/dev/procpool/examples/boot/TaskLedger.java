package dev.procpool.examples.boot;

import dev.procpool.TaskFailedException;
import dev.procpool.TaskHandle;
import dev.procpool.TaskResult;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.DisposableBean;
import org.springframework.stereotype.Component;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletionException;

/**
 * Where task outcomes are recorded as they end: a stand-in for what real tasks need after they run (a database, a
 * message broker). The pool's bean depends on it, so Spring destroys the pool first: the pool drains while the
 * ledger still takes outcomes, and only then is the ledger closed. Keeps the latest 10,000 tasks. Thread-safe.
 */
@Component
public class TaskLedger implements DisposableBean {
    private static final Logger LOG = LoggerFactory.getLogger(TaskLedger.class);
    private static final int CAPACITY = 10_000;

    private final Map<String, TaskHandle> tasks = new LinkedHashMap<>() {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, TaskHandle> eldest) {
            return size() > CAPACITY;
        }
    };
    private int recorded;
    private boolean closed;

    /** Follows a task until it ends. */
    public synchronized void track(TaskHandle handle) {
        tasks.put(handle.id(), handle);
        handle.future().whenComplete((result, error) -> ended(handle.id(), result, error));
    }

    public synchronized Optional<TaskHandle> find(String id) {
        return Optional.ofNullable(tasks.get(id));
    }

    private synchronized void ended(String id, TaskResult result, Throwable error) {
        Throwable cause = error instanceof CompletionException ? error.getCause() : error;
        String outcome = cause == null ? "SUCCEEDED"
                : cause instanceof TaskFailedException failed ? "failed (" + failed.reason() + ")" : cause.toString();
        if (closed) {
            LOG.error("outcome of task {} lost: the ledger was closed before the pool ({})", id, outcome);
            return;
        }
        recorded++;
        LOG.info("task {} ended: {}", id, outcome);
    }

    @Override
    public synchronized void destroy() {
        closed = true;
        LOG.info("task ledger closed with {} outcomes recorded", recorded);
    }
}
