package dev.procpool.core.internal.engine;

import dev.procpool.AwaitTimeoutException;
import dev.procpool.ProcPoolException;
import dev.procpool.core.internal.text.Units;
import dev.procpool.TaskHandle;
import dev.procpool.TaskRequest;
import dev.procpool.TaskResult;
import dev.procpool.TaskState;

import java.time.Duration;
import java.util.Optional;
import java.util.function.Predicate;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/** The caller's handle on a task. */
final class DefaultTaskHandle implements TaskHandle {
    private final TaskRecord task;
    private final Predicate<TaskRecord> canceller;

    /**
     * @param canceller cancels the task, returning whether this call ended it: the engine in memory, the durable
     *                  tasks (here or in the store) with a store
     */
    DefaultTaskHandle(TaskRecord task, Predicate<TaskRecord> canceller) {
        this.task = task;
        this.canceller = canceller;
    }

    @Override
    public String id() {
        return task.id;
    }

    @Override
    public TaskRequest request() {
        return task.request;
    }

    @Override
    public TaskState state() {
        return task.handleState();
    }

    @Override
    public CompletableFuture<TaskResult> future() {
        return task.future.copy();
    }

    @Override
    public TaskResult join() {
        // No spin before parking: on a machine with few cores a spinning caller takes the core that the worker and
        // the reader thread need for the answer (a round trip took 3.5 times as long with a 30 µs spin, 2 cores).
        try {
            return task.future.join();
        } catch (CompletionException e) {
            throw unwrap(e.getCause());
        } catch (CancellationException e) {
            throw new ProcPoolException("task " + task.id + " was cancelled", e);
        }
    }

    @Override
    public TaskResult await(Duration timeout) {
        try {
            return task.future.get(timeout.toNanos(), TimeUnit.NANOSECONDS);
        } catch (ExecutionException e) {
            throw unwrap(e.getCause());
        } catch (TimeoutException e) {
            TaskState state = state();
            if (state.isTerminal()) {
                return join(); // it ended as the wait ran out: its outcome, not a timeout that contradicts it
            }
            throw new AwaitTimeoutException(task.id, timeout, state, "task " + task.id + " (" + task.type()
                    + ") did not end within " + Units.duration(timeout) + "; it goes on (" + state + ")");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ProcPoolException("interrupted while waiting for task " + task.id, e);
        }
    }

    @Override
    public Optional<String> workerId() {
        return Optional.ofNullable(task.lastWorkerId);
    }

    @Override
    public boolean cancel() {
        return canceller.test(task);
    }

    @Override
    public TaskHandle onProgress(java.util.function.Consumer<dev.procpool.TaskProgress> listener) {
        task.addProgressListener(java.util.Objects.requireNonNull(listener, "listener"));
        return this;
    }

    private static RuntimeException unwrap(Throwable cause) {
        return cause instanceof RuntimeException runtime ? runtime : new ProcPoolException(String.valueOf(cause), cause);
    }

    @Override
    public String toString() {
        return "TaskHandle{" + task.id + ", " + task.request.type() + ", " + task.state + '}';
    }
}
