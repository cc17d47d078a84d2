package dev.procpool.core.internal.engine;

import dev.procpool.core.internal.process.LineBudget;
import dev.procpool.core.internal.process.SafeText;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import dev.procpool.core.internal.Loggers;
import org.slf4j.MDC;
import org.slf4j.event.Level;

import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;

/**
 * Logs what workers write, under the logger {@code dev.procpool.worker}, with the MDC keys {@code procpool.pool},
 * {@code procpool.worker} and {@code procpool.task} set for the line. Every line is escaped ({@link SafeText}: a
 * worker cannot forge a log line or send control bytes to a terminal) and every worker has a budget of lines
 * ({@link #BURST_LINES} at once, then {@link #LINES_PER_SECOND} a second): lines over it are left out of the log,
 * counted, and the count is logged. Lines left out of the log are still kept with their task; this class only
 * decides what reaches the log.
 */
final class WorkerOutput {
    static final Logger LOG = LoggerFactory.getLogger(Loggers.WORKER);
    static final String MDC_POOL = "procpool.pool";
    static final String MDC_WORKER = "procpool.worker";
    static final String MDC_TASK = "procpool.task";

    /** Lines a worker may log at once after a quiet spell. */
    static final int BURST_LINES = 1000;
    /** Lines a worker may log a second beyond the burst: about 10 KB/s of log at 100 characters a line. */
    static final int LINES_PER_SECOND = 100;
    /** While a worker's lines are being left out, how often the count is logged. */
    static final long REPORT_EVERY_NANOS = TimeUnit.SECONDS.toNanos(1);
    /** Workers whose budget is kept; the least recently heard from is forgotten first (its count logged). */
    private static final int MAX_BUDGETS = 1024;

    private static final Budgets BUDGETS = new Budgets(System::nanoTime);

    private WorkerOutput() {
    }

    static void log(String pool, String workerId, String taskId, String level, String line) {
        BUDGETS.log(pool, workerId, taskId, level, line);
    }

    /**
     * The worker is gone: logs the count of its lines still unreported and forgets its budget. Optional (budgets
     * are bounded in number), but without it the last count of a worker that went quiet is logged only when its
     * budget is forgotten.
     */
    static void workerGone(String pool, String workerId) {
        BUDGETS.workerGone(pool, workerId);
    }

    private static Level level(String level) {
        return switch (level == null ? "INFO" : level.toUpperCase(Locale.ROOT)) {
            case "ERROR" -> Level.ERROR;
            case "WARN", "WARNING" -> Level.WARN;
            case "DEBUG" -> Level.DEBUG;
            case "TRACE" -> Level.TRACE;
            default -> Level.INFO;
        };
    }

    /** The budgets of the workers of every pool in this JVM, keyed by pool name and worker id. */
    static final class Budgets {
        private final LongSupplier ticker;
        private final Logger log;
        private final Map<String, LineBudget> byWorker = new LinkedHashMap<>(16, 0.75f, true);

        Budgets(LongSupplier ticker) {
            this(ticker, LOG);
        }

        Budgets(LongSupplier ticker, Logger log) {
            this.ticker = ticker;
            this.log = log;
        }

        void log(String pool, String workerId, String taskId, String level, String line) {
            Level at = level(level);
            if (!log.isEnabledForLevel(at)) {
                return; // a line nobody sees spends no budget
            }
            long now = ticker.getAsLong();
            LineBudget.Verdict verdict = budget(pool, workerId, now).take(now);
            if (verdict.droppedToReport() > 0) {
                reportDropped(pool, workerId, verdict.droppedToReport());
            }
            if (!verdict.log()) {
                return;
            }
            MDC.put(MDC_POOL, pool);
            MDC.put(MDC_WORKER, workerId);
            if (taskId != null) {
                MDC.put(MDC_TASK, taskId);
            }
            try {
                String prefix = taskId == null ? "[" + workerId + "] " : "[" + workerId + " " + taskId + "] ";
                String text = prefix + SafeText.escape(line);
                switch (at) {
                    case ERROR -> log.error(text);
                    case WARN -> log.warn(text);
                    case DEBUG -> log.debug(text);
                    case TRACE -> log.trace(text);
                    default -> log.info(text);
                }
            } finally {
                MDC.remove(MDC_POOL);
                MDC.remove(MDC_WORKER);
                MDC.remove(MDC_TASK);
            }
        }

        void workerGone(String pool, String workerId) {
            LineBudget budget;
            synchronized (byWorker) {
                budget = byWorker.remove(key(pool, workerId));
            }
            if (budget != null) {
                long dropped = budget.drainDropped(ticker.getAsLong());
                if (dropped > 0) {
                    reportDropped(pool, workerId, dropped);
                }
            }
        }

        private LineBudget budget(String pool, String workerId, long now) {
            LineBudget evicted = null;
            String evictedKey = null;
            LineBudget budget;
            synchronized (byWorker) {
                budget = byWorker.computeIfAbsent(key(pool, workerId),
                        k -> new LineBudget(BURST_LINES, LINES_PER_SECOND, REPORT_EVERY_NANOS, now));
                if (byWorker.size() > MAX_BUDGETS) {
                    Map.Entry<String, LineBudget> eldest = byWorker.entrySet().iterator().next();
                    evictedKey = eldest.getKey();
                    evicted = eldest.getValue();
                    byWorker.remove(evictedKey);
                }
            }
            if (evicted != null) {
                long dropped = evicted.drainDropped(now);
                if (dropped > 0) {
                    int split = evictedKey.indexOf('\0');
                    reportDropped(evictedKey.substring(0, split), evictedKey.substring(split + 1), dropped);
                }
            }
            return budget;
        }

        private void reportDropped(String pool, String workerId, long dropped) {
            MDC.put(MDC_POOL, pool);
            MDC.put(MDC_WORKER, workerId);
            try {
                log.warn("[{}] dropped {} lines of this worker from the log (over {} lines a second after a burst "
                        + "of {}); they are still kept with their task's output", workerId, dropped,
                        LINES_PER_SECOND, BURST_LINES);
            } finally {
                MDC.remove(MDC_POOL);
                MDC.remove(MDC_WORKER);
            }
        }

        private static String key(String pool, String workerId) {
            return pool + '\0' + workerId;
        }
    }
}
