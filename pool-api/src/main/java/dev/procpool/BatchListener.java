package dev.procpool;

/** Hears how far a batch has come; called after each task of the batch ends. */
@FunctionalInterface
public interface BatchListener {
    /**
     * @param done   tasks ended so far (succeeded or failed)
     * @param failed of those, how many failed
     * @param total  tasks in the batch
     */
    void onProgress(int done, int failed, int total);
}
