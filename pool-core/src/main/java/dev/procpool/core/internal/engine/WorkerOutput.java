package dev.procpool.core.internal.engine;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;

/**
 * Logs what workers write, under the logger {@code dev.procpool.worker}, with the MDC keys {@code procpool.pool},
 * {@code procpool.worker} and {@code procpool.task} set for the line.
 */
final class WorkerOutput {
    static final Logger LOG = LoggerFactory.getLogger("dev.procpool.worker");
    static final String MDC_POOL = "procpool.pool";
    static final String MDC_WORKER = "procpool.worker";
    static final String MDC_TASK = "procpool.task";

    private WorkerOutput() {
    }

    static void log(String pool, String workerId, String taskId, String level, String line) {
        MDC.put(MDC_POOL, pool);
        MDC.put(MDC_WORKER, workerId);
        if (taskId != null) {
            MDC.put(MDC_TASK, taskId);
        }
        try {
            String text = taskId == null ? "[" + workerId + "] " + line : "[" + workerId + " " + taskId + "] " + line;
            switch (level == null ? "INFO" : level.toUpperCase(java.util.Locale.ROOT)) {
                case "ERROR" -> LOG.error(text);
                case "WARN", "WARNING" -> LOG.warn(text);
                case "DEBUG" -> LOG.debug(text);
                case "TRACE" -> LOG.trace(text);
                default -> LOG.info(text);
            }
        } finally {
            MDC.remove(MDC_POOL);
            MDC.remove(MDC_WORKER);
            MDC.remove(MDC_TASK);
        }
    }
}
