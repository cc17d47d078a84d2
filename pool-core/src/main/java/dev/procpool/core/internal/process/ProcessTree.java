package dev.procpool.core.internal.process;

import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Every process one worker started, and the means to end them all, on every way a worker ends. On Linux a process
 * belongs to the tree if any of these holds, strongest first:
 * <ol>
 *   <li>it is in the worker's process group: the worker leads a session and group of its own ({@link Sessions}),
 *   which its children join unless they leave it, and the kernel signals a group at once, forks included;</li>
 *   <li>it carries the worker's environment marker {@code PROCPOOL_TREE=<unique value>}: every descendant inherits
 *   it unless it replaces its whole environment, so it finds a double-forked child that left the group and the
 *   session, whose parent is long gone;</li>
 *   <li>it was recorded as a descendant (pid and start time) while the worker lived ({@link TreeRecorder}, and at
 *   every stop), which finds a child that left the group and dropped the marker before its parent died;</li>
 *   <li>it descends from one of the above.</li>
 * </ol>
 * Without {@code /proc} (macOS) only recorded descendants and, where {@code setsid} exists, the group are known.
 * Processes are killed by pid <em>and</em> start time, never a pid that a new process has taken since. A last
 * means, {@link #killPipeHolders()}, finds whoever holds the worker's stdout or stderr open.
 */
public final class ProcessTree {
    /** The environment variable that marks every process of a worker's tree. */
    public static final String MARKER_VARIABLE = "PROCPOOL_TREE";
    private static final long SELF = ProcessHandle.current().pid();
    /** Host pid, then a random part so that a later host with the same pid has other markers. */
    private static final String HOST_MARKER_PREFIX = SELF + "-"
            + Long.toHexString(new SecureRandom().nextLong() & Long.MAX_VALUE) + "-";
    private static final AtomicLong SERIAL = new AtomicLong();
    /** Kill rounds: processes may fork while a round runs; the next round finds their children. */
    private static final int MAX_KILL_ROUNDS = 4;

    /**
     * The worker as a handle, never as its {@link Process}: {@code Process.destroy()} also closes the pipes, which
     * would lose the frames and the stderr lines still unread in them.
     */
    private final ProcessHandle worker;
    private final long pid;
    private final long startTicks;
    private final String marker;
    private final boolean grouped;
    private final Set<String> pipes;
    /** Linux: pid to start time of the descendants seen while the worker lived. Guarded by this. */
    private final Map<Long, Long> recorded = new HashMap<>();
    /** Without /proc: the descendants seen, as handles (which check the start time themselves). Guarded by this. */
    private final Set<ProcessHandle> recordedHandles = new HashSet<>();

    private ProcessTree(Process worker, long startTicks, String marker, boolean grouped, Set<String> pipes) {
        this.worker = worker.toHandle();
        this.pid = worker.pid();
        this.startTicks = startTicks;
        this.marker = marker;
        this.grouped = grouped;
        this.pipes = pipes;
    }

    /** A new marker value, unique to one worker of this host. */
    static String newMarker() {
        return HOST_MARKER_PREFIX + SERIAL.incrementAndGet();
    }

    /** The start of every marker this host hands out: what a check for processes left behind looks for. */
    public static String hostMarkerPrefix() {
        return HOST_MARKER_PREFIX;
    }

    /**
     * The tree of a worker just started (its program already running: {@link ProcessBuilder#start()} returns after
     * the exec), with {@code marker} in its environment and, if {@code grouped}, in a session of its own.
     */
    static ProcessTree of(Process worker, String marker, boolean grouped) {
        long started = ProcStat.read(worker.pid()).map(ProcStat::startTicks).orElse(-1L);
        Set<String> pipes = new HashSet<>();
        for (int fd = 1; fd <= 2; fd++) {
            ProcFs.fileDescriptorTarget(worker.pid(), fd).filter(t -> t.startsWith("pipe:")).ifPresent(pipes::add);
        }
        return new ProcessTree(worker, started, marker, grouped, Set.copyOf(pipes));
    }

    long pid() {
        return pid;
    }

    /** Records the worker's current descendants, reading {@code /proc} once. */
    void record() {
        record(ProcFs.snapshot());
    }

    /** Records the worker's descendants as {@code table} shows them, and forgets recorded processes that ended. */
    synchronized void record(List<ProcStat> table) {
        if (!ProcFs.available()) {
            recordedHandles.removeIf(handle -> !handle.isAlive());
            try {
                worker.descendants().forEach(recordedHandles::add);
            } catch (RuntimeException e) {
                // the worker is gone
            }
            return;
        }
        Map<Long, Long> live = new HashMap<>();
        for (ProcStat process : table) {
            if (!process.isZombie()) {
                live.put(process.pid(), process.startTicks());
            }
        }
        recorded.entrySet().removeIf(entry -> !entry.getValue().equals(live.get(entry.getKey())));
        Set<Long> roots = new HashSet<>(recorded.keySet());
        if (Objects.equals(live.get(pid), startTicks)) {
            roots.add(pid);
        }
        for (ProcStat process : table) {
            if (grouped && process.processGroup() == pid && process.pid() != pid && !process.isZombie()) {
                roots.add(process.pid());
            }
        }
        for (Long member : roots) {
            if (member != pid) {
                recorded.put(member, live.get(member));
            }
        }
        for (Long descendant : ProcFs.descendants(table, roots)) {
            Long started = live.get(descendant);
            if (started != null && descendant != SELF) {
                recorded.put(descendant, started);
            }
        }
    }

    /**
     * SIGTERM to the worker's group (the worker and the children that stayed in it: they are told at the same
     * time, as a terminal's Ctrl-C or systemd's control-group stop would), or to the worker alone without a group.
     * Whatever survives the worker is killed once it has exited.
     */
    void terminate() {
        record();
        if (!(grouped && groupIsOurs() && Sessions.signalGroup(pid, "TERM"))) {
            worker.destroy();
        }
    }

    /** SIGKILL to every process of the tree; returns when each was signalled (dying takes the kernel a moment). */
    synchronized void killAll() {
        if (!ProcFs.available()) {
            if (grouped) {
                Sessions.signalGroup(pid, "KILL");
            }
            worker.destroyForcibly();
            record(List.of());
            recordedHandles.forEach(ProcessHandle::destroyForcibly); // handles check the start time themselves
            return;
        }
        worker.destroyForcibly();
        boolean groupOurs = grouped && groupIsOurs();
        for (int round = 0; round < MAX_KILL_ROUNDS; round++) {
            List<ProcStat> table = ProcFs.snapshot();
            List<ProcStat> members = members(table, groupOurs);
            if (members.isEmpty()) {
                return;
            }
            if (round == 0 && groupOurs && members.stream().anyMatch(p -> p.processGroup() == pid)) {
                Sessions.signalGroup(pid, "KILL"); // at once, so that a member forking now cannot slip through
            }
            members.forEach(ProcessTree::killIfSame);
        }
    }

    /**
     * Kills the processes that hold the worker's stdout or stderr pipe open, whoever they are: a child that left
     * the group, dropped the marker and was never recorded still keeps the pipe. Reads every open file of every
     * process; for when the pipe does not close after the worker exited. Returns what it found.
     */
    synchronized List<ProcStat> killPipeHolders() {
        if (pipes.isEmpty()) {
            return List.of();
        }
        List<ProcStat> holders = ProcFs.holdersOf(ProcFs.snapshot(), pipes);
        holders.forEach(ProcessTree::killIfSame);
        return holders;
    }

    /** The live processes of the tree in {@code table}: see the class comment. */
    private List<ProcStat> members(List<ProcStat> table, boolean groupOurs) {
        Map<Long, ProcStat> byPid = new HashMap<>();
        Set<Long> seeds = new HashSet<>();
        for (ProcStat process : table) {
            if (process.pid() == SELF || process.isZombie()) {
                continue;
            }
            byPid.put(process.pid(), process);
            long id = process.pid();
            if ((id == pid && process.startTicks() == startTicks)
                    || Objects.equals(recorded.get(id), process.startTicks())
                    || (groupOurs && process.processGroup() == pid)
                    || marker.equals(ProcFs.environmentValue(id, MARKER_VARIABLE).orElse(null))) {
                seeds.add(id);
            }
        }
        Set<Long> all = new HashSet<>(seeds);
        all.addAll(ProcFs.descendants(table, seeds));
        List<ProcStat> members = new ArrayList<>();
        for (Long id : all) {
            ProcStat process = byPid.get(id);
            if (process != null) {
                members.add(process);
            }
        }
        return members;
    }

    /**
     * Whether the group named by the worker's pid can still be the worker's. Linux never gives a new process a pid
     * that is still a group's id, so while any member lives the number is ours; a process that now holds the pid
     * with another start time means our group emptied and the pid was reused, and its group is someone else's.
     */
    private boolean groupIsOurs() {
        Optional<ProcStat> holder = ProcStat.read(pid);
        return holder.isEmpty() || startTicks < 0 || holder.get().startTicks() == startTicks;
    }

    /**
     * SIGKILL if the pid still has the start time it had when found. The JDK's handle checks its own start time
     * once more before signalling, so only a pid reused within these few microseconds (a full turn of the pid
     * space) could be hit.
     */
    private static void killIfSame(ProcStat process) {
        if (process.pid() == SELF) {
            return;
        }
        Optional<ProcStat> now = ProcStat.read(process.pid());
        if (now.isPresent() && now.get().startTicks() == process.startTicks() && !now.get().isZombie()) {
            ProcessHandle.of(process.pid()).ifPresent(ProcessHandle::destroyForcibly);
        }
    }
}
