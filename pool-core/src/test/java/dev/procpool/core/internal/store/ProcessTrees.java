package dev.procpool.core.internal.store;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

import static org.awaitility.Awaitility.await;

/** Processes identified by pid and start time, descendants included, to prove that none is left behind. */
public final class ProcessTrees {
    public record Proc(long pid, Instant started, String command) {
    }

    private ProcessTrees() {
    }

    /** The process and all its descendants as they are now. */
    public static List<Proc> snapshot(ProcessHandle root) {
        List<Proc> all = new ArrayList<>();
        add(all, root);
        root.descendants().forEach(p -> add(all, p));
        return all;
    }

    private static void add(List<Proc> all, ProcessHandle handle) {
        all.add(new Proc(handle.pid(), handle.info().startInstant().orElse(null),
                handle.info().command().orElse("?")));
    }

    /** Whether this very process (same pid and start time) still runs. */
    public static boolean alive(Proc proc) {
        Optional<ProcessHandle> handle = ProcessHandle.of(proc.pid());
        return handle.isPresent() && handle.get().isAlive()
                && handle.get().info().startInstant().equals(Optional.ofNullable(proc.started()));
    }

    /** Waits until none of these processes runs. */
    public static void assertAllGone(List<Proc> procs) {
        await().atMost(Duration.ofSeconds(20)).until(() -> procs.stream().noneMatch(ProcessTrees::alive));
    }
}
