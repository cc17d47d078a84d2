package dev.procpool.examples;

import dev.procpool.TaskContext;
import dev.procpool.TaskFailedException;
import dev.procpool.TaskHandle;
import dev.procpool.TaskHandler;
import dev.procpool.TaskRequest;
import dev.procpool.TaskResult;
import dev.procpool.WorkerPool;
import dev.procpool.WorkerSnapshot;
import dev.procpool.WorkerSpec;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Set;

/**
 * The smallest tour of procpool: two worker JVMs serving two task types, tasks of different priorities, a handler
 * error caught as a {@link TaskFailedException}, and the workers' state at the end.
 *
 * <pre>mvn -q -pl pool-examples exec:exec -Dexample.main=dev.procpool.examples.QuickstartExample</pre>
 *
 * <p>Optional: {@code --jvm-options "FLAGS"} adds options to the worker JVMs.
 */
public final class QuickstartExample {
    private QuickstartExample() {
    }

    public static void main(String[] args) throws Exception {
        System.exit(run(args, System.out));
    }

    /** Runs the example, printing to {@code out}; returns the exit status. */
    public static int run(String[] args, PrintStream out) {
        List<String> jvmOptions = args.length == 2 && args[0].equals("--jvm-options")
                ? Arrays.stream(args[1].trim().split("\\s+")).filter(s -> !s.isEmpty()).toList()
                : List.of();

        try (WorkerPool pool = WorkerPool.builder()
                .name("quickstart")
                .workers(2)
                .worker(WorkerSpec.java(GreetHandler.class, SlowSquareHandler.class).withExtraJvmOptions(jvmOptions))
                .start()) {

            // Four slow tasks at a low priority first: two start at once, two wait in the queue...
            List<TaskHandle> handles = new ArrayList<>();
            for (int n = 1; n <= 4; n++) {
                handles.add(pool.submitTask(TaskRequest.of("slow-square", n).withPriority(50)));
            }
            // ...so these urgent ones (0 is the highest priority) overtake the two that wait.
            handles.add(pool.submitTask(TaskRequest.of("greet", "Ada").withPriority(TaskRequest.HIGHEST_PRIORITY)));
            handles.add(pool.submitTask(TaskRequest.of("greet", "Linus").withPriority(TaskRequest.HIGHEST_PRIORITY)));

            // Note the order in which tasks finish. Callbacks run on the pool's I/O thread: keep them tiny.
            List<TaskHandle> finished = Collections.synchronizedList(new ArrayList<>());
            handles.forEach(handle -> handle.future().whenComplete((result, error) -> finished.add(handle)));
            handles.forEach(TaskHandle::join);

            out.println("Results, in the order they finished:");
            for (TaskHandle handle : finished) {
                TaskResult result = handle.join(); // already done: returns at once
                out.printf("  %-11s priority %2d -> %-16s worker %s (pid %d), attempt %d, waited %d ms%n",
                        result.taskType(), handle.request().priority(), result.json(), result.workerId(),
                        result.workerPid(), result.attempt(), result.queueTime().toMillis());
            }

            // A handler that throws: the task fails, the worker lives on.
            try {
                pool.submitTask("greet", "").join();
            } catch (TaskFailedException e) {
                out.printf("Failed as expected: reason %s after %d attempt(s), remote %s%n", e.reason(),
                        e.attempts(), e.remoteError().map(r -> r.className() + ": " + r.message()).orElse("-"));
            }

            // Typed results: read the JSON back as a Java type.
            int square = pool.submitTask("slow-square", 12).join().as(Integer.class);
            out.println("12 squared is " + square);

            out.println("Workers:");
            for (WorkerSnapshot worker : pool.workers()) {
                out.printf("  %s pid %d %s, %d tasks served, up %d ms%n", worker.id(), worker.pid(), worker.state(),
                        worker.tasksServed(), worker.uptimeMillis());
            }
        } // close(): lets running tasks finish, then stops the workers
        return 0;
    }

    /** Task type {@code greet}: payload a name, result a greeting; a blank name is an error. */
    public static final class GreetHandler implements TaskHandler {
        @Override
        public Set<String> taskTypes() {
            return Set.of("greet");
        }

        @Override
        public Object handle(TaskContext context) {
            String name = context.payload(String.class);
            if (name.isBlank()) {
                throw new IllegalArgumentException("name must not be blank");
            }
            return "Hello, " + name + "!";
        }
    }

    /** Task type {@code slow-square}: payload a number, result its square, after a pause that checks for cancel. */
    public static final class SlowSquareHandler implements TaskHandler {
        @Override
        public Set<String> taskTypes() {
            return Set.of("slow-square");
        }

        @Override
        public Object handle(TaskContext context) throws InterruptedException {
            for (int i = 0; i < 10 && !context.isCancelled(); i++) {
                Thread.sleep(20);
            }
            int n = context.payload(Integer.class);
            return n * n;
        }
    }
}
