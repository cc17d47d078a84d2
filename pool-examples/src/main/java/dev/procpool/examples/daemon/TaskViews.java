package dev.procpool.examples.daemon;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.procpool.AttemptRecord;
import dev.procpool.DeadLetter;
import dev.procpool.PoolSnapshot;
import dev.procpool.RemoteError;
import dev.procpool.TaskFailedException;
import dev.procpool.TaskHandle;
import dev.procpool.TaskInfo;
import dev.procpool.TaskResult;

import java.util.List;
import java.util.Optional;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;

/**
 * The JSON the daemon answers with for tasks, dead letters and the task store: one place for each shape, so that a
 * task looks the same whether this daemon holds its handle or only the store knows it (submitted before a restart,
 * or by another daemon of the pool).
 */
final class TaskViews {
    private final ObjectMapper mapper;

    TaskViews(ObjectMapper mapper) {
        this.mapper = mapper;
    }

    /**
     * A task this daemon submitted: what was asked, its state, and once it ended, its result or failure; with what
     * the pool knows of it besides ({@code info}: attempts, the host that ran it, failed attempts).
     */
    ObjectNode task(TaskHandle handle, Optional<TaskInfo> info) {
        ObjectNode node = mapper.createObjectNode().put("id", handle.id()).put("type", handle.request().type())
                .put("priority", handle.request().priority());
        CompletableFuture<TaskResult> future = handle.future();
        if (future.isDone()) {
            try {
                TaskResult result = future.get();
                node.put("state", handle.state().name());
                node.set("result", parseOrText(result.json()));
                node.put("workerId", result.workerId()).put("attempt", result.attempt());
                if (result.workerPid() > 0) { // a result read back from a durable store has no pid nor times
                    node.put("workerPid", result.workerPid()).put("queueMillis", result.queueTime().toMillis())
                            .put("runMillis", result.runTime().toMillis());
                }
            } catch (ExecutionException | CancellationException e) {
                node.put("state", handle.state().name());
                node.set("failure", failure(unwrap(e)));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                node.put("state", handle.state().name());
            }
        } else {
            node.put("state", handle.state().name());
        }
        info.ifPresent(known -> addStored(node, known));
        return node;
    }

    /** A task only the pool (its store, with a durable one) knows: submitted before a restart, or elsewhere. */
    ObjectNode task(TaskInfo info) {
        ObjectNode node = mapper.createObjectNode().put("id", info.id()).put("type", info.type())
                .put("state", info.state().name());
        info.result().ifPresent(json -> node.set("result", parseOrText(json)));
        if (info.failureReason() != null) {
            node.putObject("failure").put("reason", info.failureReason().name())
                    .put("message", info.failureMessage()).put("attempts", info.attempts());
        }
        if (info.workerId() != null) {
            node.put("workerId", info.workerId());
        }
        addStored(node, info);
        return node;
    }

    private void addStored(ObjectNode node, TaskInfo info) {
        node.put("attempts", info.attempts());
        node.put("host", info.host());
        node.put("submittedAt", info.submittedAt() == null ? null : info.submittedAt().toString());
        node.put("endedAt", info.endedAt() == null ? null : info.endedAt().toString());
        node.set("failedAttempts", attempts(info.failedAttempts()));
    }

    ObjectNode failure(Throwable failure) {
        ObjectNode node = mapper.createObjectNode();
        if (failure instanceof TaskFailedException failed) {
            node.put("reason", failed.reason().name()).put("message", failed.getMessage())
                    .put("attempts", failed.attempts());
            failed.remoteError().ifPresent(remote -> node.set("remoteError", remote(remote)));
            ArrayNode output = node.putArray("output");
            failed.output().forEach(output::add);
        } else {
            node.put("reason", "UNKNOWN").put("message", String.valueOf(failure));
        }
        return node;
    }

    ObjectNode deadLetter(DeadLetter letter) {
        ObjectNode node = mapper.createObjectNode().put("taskId", letter.taskId()).put("taskType", letter.taskType())
                .put("priority", letter.priority()).put("reason", letter.reason().name())
                .put("message", letter.message()).put("deadLetteredAt", letter.deadLetteredAt().toString());
        node.set("payload", letter.payloadJson() == null ? null : parseOrText(letter.payloadJson()));
        node.set("attempts", attempts(letter.attempts()));
        return node;
    }

    /**
     * The task store: where ({@code location}, never a password), whether it answers, the hosts of the pool it saw
     * lately, the tasks waiting in it, and what this daemon rescued from lost hosts, discarded as late, or failed to
     * reach it with.
     */
    ObjectNode store(PoolSnapshot.Store store, StoreLocation location) {
        return mapper.createObjectNode().put("kind", store.kind()).put("location", location.toString())
                .put("available", store.available()).put("hosts", store.hosts()).put("queued", store.queued())
                .put("rescuedAttempts", store.rescuedAttempts()).put("fencedAnswers", store.fencedAnswers())
                .put("errors", store.errors());
    }

    private ArrayNode attempts(List<AttemptRecord> records) {
        ArrayNode attempts = mapper.createArrayNode();
        for (AttemptRecord attempt : records) {
            ObjectNode a = attempts.addObject().put("attempt", attempt.attempt()).put("workerId", attempt.workerId())
                    .put("workerPid", attempt.workerPid()).put("reason", attempt.reason().name())
                    .put("detail", attempt.detail()).put("durationMillis", attempt.duration().toMillis())
                    .put("peakRssBytes", attempt.peakRssBytes());
            if (attempt.exitCode() != null) {
                a.put("exitCode", attempt.exitCode());
            }
            if (attempt.signal() != null) {
                a.put("signal", attempt.signal());
            }
            if (attempt.remoteError() != null) {
                a.set("remoteError", remote(attempt.remoteError()));
            }
            ArrayNode tail = a.putArray("stderrTail");
            attempt.stderrTail().forEach(tail::add);
        }
        return attempts;
    }

    private ObjectNode remote(RemoteError remote) {
        return mapper.createObjectNode().put("className", remote.className()).put("message", remote.message())
                .put("stack", remote.stack());
    }

    JsonNode parseOrText(String json) {
        try {
            return mapper.readTree(json);
        } catch (JacksonException e) {
            return mapper.getNodeFactory().textNode(json);
        }
    }

    static Throwable unwrap(Throwable t) {
        while ((t instanceof CompletionException || t instanceof ExecutionException) && t.getCause() != null) {
            t = t.getCause();
        }
        return t;
    }
}
