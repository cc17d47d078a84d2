package dev.procpool;

import java.util.List;
import java.util.Objects;

/**
 * The outcome of every task of a batch, in request order.
 *
 * @param outcomes one per request
 */
public record BatchResult(List<Outcome> outcomes) {
    public BatchResult {
        outcomes = List.copyOf(outcomes);
    }

    /** One task's outcome: a result, or a failure (a {@link TaskFailedException} or {@link TaskRejectedException}). */
    public record Outcome(TaskRequest request, TaskResult result, ProcPoolException failure) {
        public Outcome {
            Objects.requireNonNull(request, "request");
            if ((result == null) == (failure == null)) {
                throw new IllegalArgumentException("an outcome has either a result or a failure");
            }
        }

        /** Whether the task succeeded. */
        public boolean succeeded() {
            return result != null;
        }
    }

    /** How many tasks succeeded. */
    public long succeeded() {
        return outcomes.stream().filter(Outcome::succeeded).count();
    }

    /** How many tasks failed or were refused. */
    public long failed() {
        return outcomes.size() - succeeded();
    }
}
