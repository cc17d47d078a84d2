package dev.procpool.examples.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.util.Map;

/**
 * The spawn-per-task baseline: one JVM per task, the way work is farmed out without a pool. It reads one task as
 * JSON from its argument ({@code {"taskType":"echo","payload":…}}), runs it through {@link BenchHandler}'s logic
 * with Jackson (as a worker would), prints {@code {"result":…}} on stdout and exits.
 *
 * <pre>java -cp &lt;classpath&gt; dev.procpool.examples.bench.OneShotTask '{"taskType":"echo","payload":"abc"}'</pre>
 */
public final class OneShotTask {
    private OneShotTask() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length != 1) {
            System.err.println("usage: OneShotTask <task as JSON>");
            System.exit(2);
        }
        ObjectMapper mapper = new ObjectMapper();
        JsonNode task = mapper.readTree(args[0]);
        String type = task.path("taskType").asText();
        Object result = switch (type) {
            case BenchHandler.ECHO -> mapper.treeToValue(task.get("payload"), Object.class);
            case BenchHandler.SHA -> BenchHandler.sha(task.path("payload").asInt());
            default -> {
                System.err.println("OneShotTask: unknown task type " + type);
                System.exit(1);
                yield null;
            }
        };
        System.out.println(mapper.writeValueAsString(Map.of("result", result)));
    }
}
