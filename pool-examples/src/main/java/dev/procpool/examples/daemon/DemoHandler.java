package dev.procpool.examples.daemon;

import com.fasterxml.jackson.databind.JsonNode;
import dev.procpool.TaskContext;
import dev.procpool.TaskHandler;

import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * The daemon's default handler, so that it serves something out of the box:
 * <ul>
 *   <li>{@code echo}: returns the payload as it came;</li>
 *   <li>{@code upper}: payload a string, returns it in upper case (anything else is a handler error);</li>
 *   <li>{@code sleep}: payload a number of milliseconds (0 to 600000) or {@code {"ms": N}}; sleeps, stopping early
 *       when cancelled, and returns {@code {"sleptMs": N, "pid": P}}.</li>
 * </ul>
 */
public final class DemoHandler implements TaskHandler {
    private static final long MAX_SLEEP_MS = 600_000;

    @Override
    public Set<String> taskTypes() {
        return Set.of("echo", "upper", "sleep");
    }

    @Override
    public Object handle(TaskContext context) throws Exception {
        JsonNode payload = context.payload(JsonNode.class);
        return switch (context.taskType()) {
            case "echo" -> payload;
            case "upper" -> {
                if (payload == null || !payload.isTextual()) {
                    throw new IllegalArgumentException("upper needs a string payload, got "
                            + (payload == null ? "null" : payload.getNodeType().toString().toLowerCase(Locale.ROOT)));
                }
                yield payload.textValue().toUpperCase(Locale.ROOT);
            }
            case "sleep" -> sleep(context, payload);
            default -> throw new IllegalArgumentException("unknown task type " + context.taskType());
        };
    }

    private static Object sleep(TaskContext context, JsonNode payload) throws InterruptedException {
        JsonNode ms = payload != null && payload.isObject() ? payload.get("ms") : payload;
        if (ms == null || !ms.canConvertToLong() || !ms.isIntegralNumber() || ms.longValue() < 0
                || ms.longValue() > MAX_SLEEP_MS) {
            throw new IllegalArgumentException("sleep needs a number of milliseconds from 0 to " + MAX_SLEEP_MS
                    + " (or {\"ms\": N}), got " + payload);
        }
        long end = System.nanoTime() + ms.longValue() * 1_000_000L;
        long left;
        while ((left = end - System.nanoTime()) > 0 && !context.isCancelled()) {
            Thread.sleep(Math.max(1, Math.min(20, left / 1_000_000L)));
        }
        return Map.of("sleptMs", ms.longValue(), "pid", ProcessHandle.current().pid(),
                "cancelled", context.isCancelled());
    }
}
