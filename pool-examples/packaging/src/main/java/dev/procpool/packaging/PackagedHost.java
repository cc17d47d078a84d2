package dev.procpool.packaging;

import dev.procpool.PoolConfig;
import dev.procpool.TaskRequest;
import dev.procpool.WorkerGroup;
import dev.procpool.WorkerPool;
import dev.procpool.WorkerSnapshot;
import dev.procpool.WorkerSpec;
import dev.procpool.WorkerStartupException;
import dev.procpool.packaging.internal.LowerHandler;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A host application as users package it: starts a pool of two Java workers on their default class path, has them
 * upper-case two words and lower-case one (with a handler whose package the host's module does not export), prints
 * what it got, closes the pool and exits. Lines for the tests: {@code RESULT <json>} per task,
 * {@code WORKER <pid> <start instant> <command line>} per worker, then {@code CLOSED}; or
 * {@code FAILED <ms> <child processes> <message>} when the pool cannot start.
 *
 * <p>Options: {@code --cache <dir>} (the pool's worker cache directory), {@code --worker-dir <dir>} (the workers'
 * working directory), {@code --jvm-option <option>} (added to the workers' JVM options; repeatable).
 */
public final class PackagedHost {
    private PackagedHost() {
    }

    public static void main(String[] args) throws Exception {
        PoolConfig.Builder config = WorkerPool.builder().name("packaged");
        List<String> jvmOptions = new ArrayList<>();
        Path workerDirectory = null;
        for (int i = 0; i < args.length; i += 2) {
            String value = i + 1 < args.length ? args[i + 1] : "";
            switch (args[i]) {
                case "--cache" -> config.workerCacheDirectory(Path.of(value));
                case "--worker-dir" -> workerDirectory = Path.of(value);
                case "--jvm-option" -> jvmOptions.add(value);
                default -> throw new IllegalArgumentException("unknown option \"" + args[i]
                        + "\"; use --cache <dir>, --worker-dir <dir> or --jvm-option <option>");
            }
        }
        WorkerGroup.Builder group = WorkerGroup.builder(PoolConfig.DEFAULT_GROUP,
                WorkerSpec.java(UpperHandler.class, LowerHandler.class).withExtraJvmOptions(jvmOptions)).workers(2);
        if (workerDirectory != null) {
            group.workingDirectory(workerDirectory);
        }
        config.group(group.build());
        long started = System.nanoTime();
        WorkerPool pool;
        try {
            pool = config.start();
        } catch (WorkerStartupException e) {
            System.out.println("FAILED " + (System.nanoTime() - started) / 1_000_000 + " "
                    + ProcessHandle.current().descendants().count() + " " + e.getMessage());
            System.exit(3);
            return;
        }
        try (pool) {
            for (String word : List.of("alpha", "beta")) {
                System.out.println("RESULT " + pool.submitTask(TaskRequest.of("upper", word)).join().json());
            }
            System.out.println("RESULT " + pool.submitTask(TaskRequest.of("lower", "GAMMA")).join().json());
            for (WorkerSnapshot worker : pool.workers()) {
                ProcessHandle process = ProcessHandle.of(worker.pid()).orElseThrow();
                System.out.println("WORKER " + worker.pid() + " " + process.info().startInstant().orElseThrow()
                        + " " + process.info().commandLine().orElse("?"));
            }
        }
        System.out.println("CLOSED");
    }
}
