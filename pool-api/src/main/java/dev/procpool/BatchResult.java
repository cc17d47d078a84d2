package dev.procpool;

import java.util.List;
import java.util.Objects;

/**
 * The outcome of every task of a batch, in request order.
 *
 * @param outcomes one per request
 */
public record BatchResult(List<Outcome> outcomes) {
    /**
     * Copies the outcomes.
     *
     * @param outcomes one per request
     */
    public BatchResult {
        outcomes = List.copyOf(outcomes);
    }

    /**
     * One task's outcome: a result, or a failure (a {@link TaskFailedException} or {@link TaskRejectedException}).
     *
     * @param request the request as submitted
     * @param result  the result, or {@code null} if the task failed
     * @param failure the failure, or {@code null} if the task succeeded
     */
    public record Outcome(TaskRequest request, TaskResult result, ProcPoolException failure) {
        /**
         * Checks that the outcome has either a result or a failure.
         *
         * @param request the request as submitted
         * @param result  the result, or {@code null} if the task failed
         * @param failure the failure, or {@code null} if the task succeeded
         * @throws IllegalArgumentException if both or neither of result and failure are given
         */
        public Outcome {
            Objects.requireNonNull(request, "request");
            if ((result == null) == (failure == null)) {
                throw new IllegalArgumentException("an outcome has either a result or a failure");
            }
        }

        /** {@return whether the task succeeded} */
        public boolean succeeded() {
            return result != null;
        }
    }

    /** {@return how many tasks succeeded} */
    public long succeeded() {
        return outcomes.stream().filter(Outcome::succeeded).count();
    }

    /** {@return how many tasks failed or were refused} */
    public long failed() {
        return outcomes.size() - succeeded();
    }
}
