package dev.procpool;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Runs many small items through a pool with several items per task, to amortize the cost of a task, and isolates
 * the items that break their workers: when a task of several items fails (its worker crashed, ran out of memory,
 * hung…), it is split in half and each half is tried again, down to single items, so that one poison item fails
 * alone and the rest succeed (split-and-retry, as lint orchestrators do with files that crash the linter).
 *
 * <p>The handler contract: a task of type {@code taskType} gets the payload {@code {"items": [ … ]}} and returns a
 * JSON array with one result per item, in order. Each task is tried once ({@link RetryPolicy#none()}); a failed
 * single item ends in the dead-letter queue as usual, while the dead-letter entries of tasks that were split are
 * removed, since their items were tried again.
 */
public final class ItemBatch {
    private ItemBatch() {
    }

    /**
     * One item's outcome: its result (an element of the handler's array), or its failure.
     *
     * @param item    the item as given
     * @param result  its result, or {@code null} if it failed
     * @param failure its failure, or {@code null} if it succeeded
     */
    public record ItemOutcome(Object item, Object result, TaskFailedException failure) {
        /** {@return whether the item has a result} */
        public boolean succeeded() {
            return failure == null;
        }
    }

    /**
     * Every item's outcome, in the order of the items given.
     *
     * @param items one outcome per item
     */
    public record Result(List<ItemOutcome> items) {
        /**
         * Copies the outcomes.
         *
         * @param items one outcome per item
         */
        public Result {
            items = List.copyOf(items);
        }

        /** {@return how many items succeeded} */
        public long succeeded() {
            return items.stream().filter(ItemOutcome::succeeded).count();
        }

        /** {@return how many items failed} */
        public long failed() {
            return items.size() - succeeded();
        }
    }

    /**
     * Runs the items and waits for every one to end.
     *
     * @param pool         the pool that runs the tasks
     * @param taskType     the type of the tasks, served by a handler that follows the contract above
     * @param items        the items, each written as JSON
     * @param itemsPerTask how many items one task carries at first; positive
     * @param listener     hears done / failed / total items after each item ends (may be {@code null})
     * @return every item's outcome, in the order of the items given
     * @throws TaskRejectedException if the pool refuses a task (shut down, full, payload too large)
     * @throws InterruptedException if interrupted while waiting
     */
    public static Result run(WorkerPool pool, String taskType, List<?> items, int itemsPerTask,
                             BatchListener listener) throws InterruptedException {
        Objects.requireNonNull(pool, "pool");
        Objects.requireNonNull(taskType, "taskType");
        Objects.requireNonNull(items, "items");
        if (itemsPerTask < 1) {
            throw new IllegalArgumentException("itemsPerTask must be positive, was " + itemsPerTask);
        }
        Run run = new Run(pool, taskType, items, listener);
        for (int start = 0; start < items.size(); start += itemsPerTask) {
            run.submit(start, Math.min(items.size(), start + itemsPerTask));
        }
        run.remaining.await();
        return new Result(run.outcomes);
    }

    private static final class Run {
        final WorkerPool pool;
        final String taskType;
        final List<?> items;
        final BatchListener listener;
        final List<ItemOutcome> outcomes;
        final CountDownLatch remaining;
        final AtomicInteger done = new AtomicInteger();
        final AtomicInteger failed = new AtomicInteger();

        Run(WorkerPool pool, String taskType, List<?> items, BatchListener listener) {
            this.pool = pool;
            this.taskType = taskType;
            this.items = items;
            this.listener = listener;
            this.outcomes = Collections.synchronizedList(new ArrayList<>(Collections.nCopies(items.size(), null)));
            this.remaining = new CountDownLatch(items.size());
        }

        /** Submits items [from, to) as one task. */
        void submit(int from, int to) {
            TaskHandle handle = pool.submitTask(TaskRequest.of(taskType, Map.of("items", items.subList(from, to)))
                    .withRetryPolicy(RetryPolicy.none()));
            handle.future().whenComplete((result, error) -> {
                if (error == null) {
                    succeeded(from, to, result);
                } else {
                    Throwable cause = error.getCause() != null ? error.getCause() : error;
                    failed(handle, from, to, cause instanceof TaskFailedException f ? f
                            : new TaskFailedException(handle.id(), taskType, FailureReason.PROTOCOL_ERROR, 0, null,
                            String.valueOf(cause)));
                }
            });
        }

        private void succeeded(int from, int to, TaskResult result) {
            List<?> values;
            try {
                values = result.as(List.class);
            } catch (ProcPoolException e) {
                values = null;
            }
            if (values == null || values.size() != to - from) {
                TaskFailedException wrong = new TaskFailedException(result.taskId(), taskType,
                        FailureReason.HANDLER_ERROR, result.attempt(), null, "the handler must return an array of "
                        + (to - from) + " results, one per item; it returned " + abbreviate(result.json()));
                for (int i = from; i < to; i++) {
                    end(i, new ItemOutcome(items.get(i), null, wrong));
                }
                return;
            }
            for (int i = from; i < to; i++) {
                end(i, new ItemOutcome(items.get(i), values.get(i - from), null));
            }
        }

        private void failed(TaskHandle handle, int from, int to, TaskFailedException failure) {
            if (to - from == 1) {
                end(from, new ItemOutcome(items.get(from), null, failure));
                return;
            }
            pool.deadLetters().remove(handle.id()); // its items are tried again in smaller tasks
            int middle = from + (to - from) / 2;
            submitOrFail(from, middle, failure);
            submitOrFail(middle, to, failure);
        }

        /** Submits items [from, to); if the pool refuses, they end with the failure that made them split. */
        private void submitOrFail(int from, int to, TaskFailedException failure) {
            try {
                submit(from, to);
            } catch (TaskRejectedException rejected) {
                for (int i = from; i < to; i++) {
                    end(i, new ItemOutcome(items.get(i), null, failure));
                }
            }
        }

        private void end(int index, ItemOutcome outcome) {
            outcomes.set(index, outcome);
            int failures = outcome.succeeded() ? failed.get() : failed.incrementAndGet();
            int finished = done.incrementAndGet();
            if (listener != null) {
                try {
                    listener.onProgress(finished, failures, items.size());
                } catch (RuntimeException ignored) {
                    // a listener's failure must not lose outcomes
                }
            }
            remaining.countDown();
        }

        private static String abbreviate(String text) {
            return text.length() > 200 ? text.substring(0, 200) + "…" : text;
        }
    }
}
