package dev.procpool.core.testing;

import dev.procpool.TaskRequest;
import dev.procpool.WorkerPool;

import java.util.List;
import java.util.Map;

/**
 * A host that exits without closing its pool, so that only the JVM's shutdown hook can stop its worker: it starts a
 * pool of one worker, has it start children (see {@link TreeHandler}, pids to the file given as argument), prints
 * {@value #READY}, and calls {@code System.exit(0)} when a line arrives on its stdin.
 */
public final class TreeHostMain {
    public static final String READY = "TREE READY";

    public static void main(String[] args) throws java.io.IOException {
        WorkerPool pool = WorkerPool.builder().name("hooked").workers(1)
                .worker(TestPools.javaWorker(TreeHandler.class)).start();
        pool.submitTask(TaskRequest.of(TreeHandler.TREE, Map.of("then", "return", "pidFile", args[0]))).join();
        System.out.println(READY);
        System.out.flush();
        new java.io.BufferedReader(new java.io.InputStreamReader(System.in, java.nio.charset.StandardCharsets.UTF_8))
                .readLine(); // the test has recorded the pids
        System.exit(0); // the pool is deliberately left open: the shutdown hook must end its worker's tree
    }

    /** Starts this host in a JVM of its own, with the test's class path and worker options. */
    public static Process start(java.nio.file.Path pidFile) throws java.io.IOException {
        return new ProcessBuilder(TestPools.hostCommand(TreeHostMain.class, List.of(), pidFile.toString()))
                .redirectError(ProcessBuilder.Redirect.INHERIT).start();
    }
}
