package dev.procpool.core.testing;

import dev.procpool.TaskRequest;
import dev.procpool.WorkerPool;

import java.io.IOException;
import java.util.List;
import java.util.Map;

/**
 * A host whose worker floods its stderr (see {@link TreeHandler#FLOOD}): run in a JVM of its own, so that the test
 * reads the host's whole log (SLF4J's simple logger writes to stderr) with worker lines at INFO. Prints
 * {@code FLOOD <bytes> <lines> <seconds>} on stdout when the task ends, then closes the pool.
 */
public final class FloodHostMain {
    public static void main(String[] args) {
        try (WorkerPool pool = WorkerPool.builder().name("chatty").workers(1)
                .worker(TestPools.javaWorker(TreeHandler.class)).start()) {
            Map<?, ?> flood = pool.submitTask(TaskRequest.of(TreeHandler.FLOOD,
                    Map.of("mbPerSecond", Double.parseDouble(args[0]), "seconds", Long.parseLong(args[1]))))
                    .join().as(Map.class);
            System.out.println("FLOOD " + flood.get("bytes") + " " + flood.get("lines") + " " + flood.get("seconds"));
            System.out.flush();
        }
    }

    /** Starts this host in a JVM of its own, its log (stderr) and stdout read by the caller. */
    public static Process start(double mbPerSecond, long seconds) throws IOException {
        return new ProcessBuilder(TestPools.hostCommand(FloodHostMain.class,
                List.of("-Dorg.slf4j.simpleLogger.log.dev.procpool.worker=info"), Double.toString(mbPerSecond),
                Long.toString(seconds))).start();
    }
}
