package dev.procpool.examples.boot;

import com.fasterxml.jackson.databind.JsonNode;
import dev.procpool.TaskFailedException;
import dev.procpool.TaskHandle;
import dev.procpool.TaskRejectedException;
import dev.procpool.TaskRequest;
import dev.procpool.TaskResult;
import dev.procpool.WorkerPool;
import dev.procpool.WorkerSnapshot;
import org.springframework.http.HttpStatus;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.ExceptionHandler;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.RestController;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;

/**
 * Tasks over HTTP. {@code POST /tasks} with {@code {"type", "payload", "id"?, "priority"?, "timeoutMs"?}} submits
 * one (202 with its id, or with {@code ?wait=true} 200 once it ended, without holding a servlet thread);
 * {@code GET /tasks/{id}} tells its state and outcome; {@code GET /workers} lists the worker processes.
 */
@RestController
public class TaskController {
    private final WorkerPool pool;
    private final TaskLedger ledger;

    public TaskController(WorkerPool pool, TaskLedger ledger) {
        this.pool = pool;
        this.ledger = ledger;
    }

    /** A task to submit. */
    public record Submission(String type, JsonNode payload, String id, Integer priority, Long timeoutMs) {
    }

    /** A task as the API shows it: the result or the failure once it ended. */
    public record TaskView(String id, String state, JsonNode result, String failure) {
        static TaskView of(TaskHandle handle) {
            CompletableFuture<TaskResult> future = handle.future();
            if (!future.isDone()) {
                return new TaskView(handle.id(), handle.state().name(), null, null);
            }
            try {
                return new TaskView(handle.id(), handle.state().name(), future.join().as(JsonNode.class), null);
            } catch (CompletionException e) {
                return new TaskView(handle.id(), handle.state().name(), null, e.getCause().getMessage());
            }
        }
    }

    @PostMapping("/tasks")
    public CompletableFuture<ResponseEntity<TaskView>> submit(@RequestBody Submission submission,
                                                              @RequestParam(defaultValue = "false") boolean wait) {
        if (submission.type() == null || submission.type().isBlank()) {
            throw new IllegalArgumentException("\"type\" is required: the task type, for example \"upper\"");
        }
        TaskRequest request = TaskRequest.of(submission.type(), submission.payload());
        if (submission.id() != null) {
            request = request.withId(submission.id());
        }
        if (submission.priority() != null) {
            request = request.withPriority(submission.priority());
        }
        if (submission.timeoutMs() != null) {
            request = request.withTimeout(Duration.ofMillis(submission.timeoutMs()));
        }
        TaskHandle handle = pool.submitTask(request);
        ledger.track(handle);
        if (!wait) {
            return CompletableFuture.completedFuture(ResponseEntity.accepted().body(TaskView.of(handle)));
        }
        return handle.future().handle((result, error) -> ResponseEntity.ok(TaskView.of(handle)));
    }

    @GetMapping("/tasks/{id}")
    public ResponseEntity<TaskView> task(@PathVariable String id) {
        return ledger.find(id).map(handle -> ResponseEntity.ok(TaskView.of(handle)))
                .orElse(ResponseEntity.notFound().build());
    }

    @GetMapping("/workers")
    public List<WorkerSnapshot> workers() {
        return pool.workers();
    }

    @ExceptionHandler(TaskRejectedException.class)
    public ResponseEntity<Map<String, String>> rejected(TaskRejectedException e) {
        HttpStatus status = switch (e.kind()) {
            case QUEUE_FULL, SHUT_DOWN -> HttpStatus.SERVICE_UNAVAILABLE;
            default -> HttpStatus.BAD_REQUEST;
        };
        return ResponseEntity.status(status).body(Map.of("error", e.kind().name(), "message", e.getMessage()));
    }

    @ExceptionHandler({IllegalArgumentException.class, TaskFailedException.class})
    public ResponseEntity<Map<String, String>> badRequest(RuntimeException e) {
        return ResponseEntity.badRequest().body(Map.of("error", "BAD_REQUEST", "message", e.getMessage()));
    }
}
