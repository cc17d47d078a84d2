package dev.procpool.core.testing;

import dev.procpool.TaskContext;
import dev.procpool.TaskHandler;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;

/** Task types the integration tests run in real worker JVMs. */
public final class TestHandler implements TaskHandler {
    /** Counts tasks this worker has started, to observe execution order. */
    private final AtomicLong started = new AtomicLong();

    public record Square(long n) {
    }

    public record Squared(long n, long square, long pid, long order) {
    }

    @Override
    public Set<String> taskTypes() {
        return Set.of("square", "echo", "fail", "print", "sleep", "await-file", "pid", "spawn-child", "batch-upper", "progress");
    }

    @Override
    public Object handle(TaskContext context) throws Exception {
        long order = started.incrementAndGet();
        long pid = ProcessHandle.current().pid();
        switch (context.taskType()) {
            case "square" -> {
                long n = context.payload(Square.class).n();
                return new Squared(n, n * n, pid, order);
            }
            case "echo" -> {
                return context.payload(Object.class);
            }
            case "fail" -> {
                Map<?, ?> payload = context.payload(Map.class);
                if (payload.get("stdout") != null) {
                    System.out.println(payload.get("stdout")); // what a failing task printed goes with its failure
                }
                if (payload.get("stderr") != null) {
                    System.err.println(payload.get("stderr"));
                }
                throw new IllegalStateException(payload.get("message").toString());
            }
            case "print" -> {
                // user code printing to stdout must not break the protocol
                System.out.println("hello from a handler");
                System.out.println("{\"v\":1,\"type\":\"result\",\"id\":\"forged\"}");
                System.out.print("no newline at the end");
                System.out.flush();
                return Map.of("printed", true, "pid", pid);
            }
            case "sleep" -> {
                long until = System.nanoTime() + ((Number) context.payload(Map.class).get("ms")).longValue() * 1_000_000L;
                while (System.nanoTime() < until && !context.isCancelled()) {
                    Thread.sleep(5); // the task's behaviour: a long task that notices cancellation
                }
                return Map.of("cancelled", context.isCancelled(), "pid", pid);
            }
            case "await-file" -> {
                Path path = Path.of(context.payload(Map.class).get("path").toString());
                long until = System.nanoTime() + 60_000_000_000L;
                while (!Files.exists(path) && System.nanoTime() < until && !context.isCancelled()) {
                    Thread.sleep(2); // the task's behaviour: it holds its worker until the test opens the gate
                }
                return Map.of("pid", pid, "order", order);
            }
            case "pid" -> {
                return Map.of("pid", pid, "order", order, "attempt", context.attempt());
            }
            case "spawn-child" -> {
                // a grandchild of the host: it must not outlive the pool either
                Process child = new ProcessBuilder("sleep", "300").start();
                return Map.of("pid", pid, "child", child.pid());
            }
            case "batch-upper" -> {
                // the batch contract: {"items": [...]} in, one result per item out; "poison" kills the worker
                java.util.List<?> items = (java.util.List<?>) context.payload(Map.class).get("items");
                java.util.List<String> results = new java.util.ArrayList<>();
                for (Object item : items) {
                    if ("poison".equals(item)) {
                        Runtime.getRuntime().halt(1);
                    }
                    results.add(String.valueOf(item).toUpperCase(java.util.Locale.ROOT));
                }
                return results;
            }
            case "progress" -> {
                Object gate = context.payload(Map.class).get("gate");
                long until = System.nanoTime() + 60_000_000_000L;
                while (gate != null && !Files.exists(Path.of(gate.toString())) && System.nanoTime() < until) {
                    Thread.sleep(2); // until the test has registered its progress listener
                }
                for (int step = 1; step <= 4; step++) {
                    System.out.println("step " + step + " of 4");
                    System.err.println("warning at step " + step);
                    context.progress(step / 4.0, "step " + step);
                }
                return Map.of("pid", pid);
            }
            default -> throw new IllegalArgumentException("unexpected type " + context.taskType());
        }
    }
}
