package dev.procpool.core.internal.engine;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

class ThreadDumpsTest {
    private static final List<String> DUMP = List.of(
            "Full thread dump OpenJDK 64-Bit Server VM (17.0.15+6 mixed mode, sharing):",
            "",
            "\"main\" #1 prio=5 os_prio=0 tid=0x1 nid=0x2 runnable",
            "   java.lang.Thread.State: RUNNABLE",
            "\tat java.io.FileInputStream.readBytes(Native Method)",
            "\tat dev.procpool.core.internal.worker.WorkerMain.readUntilTask(WorkerMain.java:120)",
            "",
            "\"procpool-worker-1\" #12 daemon prio=5 runnable",
            "   java.lang.Thread.State: RUNNABLE",
            "\tat com.example.Slow.handle(Slow.java:7)",
            "\tat dev.procpool.core.internal.worker.WorkerMain.execute(WorkerMain.java:150)",
            "",
            "\"procpool-worker-heartbeat\" #13 daemon prio=5 waiting",
            "   java.lang.Thread.State: TIMED_WAITING (parking)",
            "",
            "Heap",
            " def new generation   total 4928K, used 1017K");

    @Test
    void keepsOnlyTheThreadsRunningTasks() {
        assertEquals(List.of(
                "\"procpool-worker-1\" #12 daemon prio=5 runnable",
                "   java.lang.Thread.State: RUNNABLE",
                "\tat com.example.Slow.handle(Slow.java:7)",
                "\tat dev.procpool.core.internal.worker.WorkerMain.execute(WorkerMain.java:150)"),
                ThreadDumps.taskStacks(DUMP, 100));
    }

    @Test
    void staysWithinTheLineLimitAndIgnoresOtherOutput() {
        assertEquals(2, ThreadDumps.taskStacks(DUMP, 2).size());
        assertEquals(List.of(), ThreadDumps.taskStacks(List.of("last words", "", "bye"), 100));
    }
}
