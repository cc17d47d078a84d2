package dev.procpool.core.testing;

import dev.procpool.WorkerPool;

import java.util.Map;
import java.util.stream.Collectors;

/**
 * A host process for the test that kills a host with SIGKILL: starts a pool of two workers, has one worker start
 * a child process, prints every pid on one line, then waits to be killed.
 */
public final class HostMain {
    public static void main(String[] args) throws Exception {
        WorkerPool pool = WorkerPool.builder().name("doomed").workers(2)
                .worker(TestPools.javaWorker(TestHandler.class)).start();
        Map<?, ?> spawned = pool.submitTask("spawn-child", Map.of()).join().as(Map.class);
        String workers = pool.workers().stream().map(w -> Long.toString(w.pid())).collect(Collectors.joining(" "));
        System.out.println("PIDS " + workers + " " + spawned.get("child"));
        System.out.flush();
        Thread.currentThread().join(); // until killed; the pool is deliberately never closed
    }
}
