package dev.procpool.examples.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.BufferedOutputStream;
import java.io.BufferedReader;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;

/**
 * The worker of {@link SketchPool}: reads one task per line ({@code {"id":7,"type":"echo","payload":…}}) with
 * Jackson, runs it on its main thread, and writes {@code {"id":7,"result":…}} (or {@code "error"}) at once. Task
 * types: {@value BenchHandler#ECHO}, {@value BenchHandler#SHA_64K} and {@value #PID} (answers its pid). It exits
 * when stdin ends.
 *
 * <pre>java -cp &lt;classpath&gt; dev.procpool.examples.bench.SketchWorker</pre>
 */
public final class SketchWorker {
    /** Task type: answer the worker's process id. */
    public static final String PID = "pid";

    private SketchWorker() {
    }

    public static void main(String[] args) throws IOException {
        ObjectMapper mapper = new ObjectMapper();
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8), 1 << 16);
        OutputStream out = new BufferedOutputStream(new FileOutputStream(FileDescriptor.out), 1 << 16);
        long pid = ProcessHandle.current().pid();
        String line;
        while ((line = in.readLine()) != null) {
            JsonNode task = mapper.readTree(line);
            ObjectNode answer = mapper.createObjectNode();
            answer.set("id", task.get("id"));
            try {
                JsonNode payload = task.get("payload");
                switch (task.path("type").asText()) {
                    case BenchHandler.ECHO -> answer.set("result", payload);
                    case BenchHandler.SHA_64K -> answer.put("result", BenchHandler.sha64k(payload.asInt()));
                    case PID -> answer.put("result", pid);
                    default -> answer.put("error", "unknown task type " + task.path("type"));
                }
            } catch (RuntimeException e) {
                answer.put("error", e.toString());
            }
            out.write(mapper.writeValueAsBytes(answer));
            out.write('\n');
            out.flush();
        }
    }
}
