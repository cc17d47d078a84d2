package dev.procpool;

/**
 * Progress a handler reported for a running task.
 *
 * @param taskId   the task
 * @param fraction how far along, from 0 to 1 (as the handler reported it)
 * @param message  what it is doing, possibly empty
 */
public record TaskProgress(String taskId, double fraction, String message) {
}
