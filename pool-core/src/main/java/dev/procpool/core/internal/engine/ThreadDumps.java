package dev.procpool.core.internal.engine;

import java.util.ArrayList;
import java.util.List;

/** Picks the interesting part out of a HotSpot thread dump (the text SIGQUIT makes a JVM print). */
final class ThreadDumps {
    /** A frame that every thread running a task has on its stack in the Java worker runtime. */
    static final String TASK_FRAME = "dev.procpool.core.internal.worker.WorkerMain.execute";

    private ThreadDumps() {
    }

    /**
     * The stacks of the threads that were running tasks: each thread's block (from its quoted name line to the
     * blank line after it) that contains {@link #TASK_FRAME}, at most {@code maxLines} lines in all.
     */
    static List<String> taskStacks(List<String> dump, int maxLines) {
        List<String> kept = new ArrayList<>();
        List<String> block = new ArrayList<>();
        boolean runsTask = false;
        for (String line : dump) {
            if (line.startsWith("\"")) {
                block.clear();
                runsTask = false;
            }
            if (line.isBlank()) {
                if (runsTask && !block.isEmpty()) {
                    for (String kept1 : block) {
                        if (kept.size() == maxLines) {
                            return kept;
                        }
                        kept.add(kept1);
                    }
                }
                block.clear();
                runsTask = false;
                continue;
            }
            block.add(line);
            runsTask |= line.contains(TASK_FRAME);
        }
        return kept;
    }
}
