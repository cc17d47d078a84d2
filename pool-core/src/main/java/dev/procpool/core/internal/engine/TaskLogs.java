package dev.procpool.core.internal.engine;

import dev.procpool.core.internal.Loggers;
import org.slf4j.Logger;

import java.io.IOException;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;

/** Writes one log file per task, named with the task id and the worker pid, in a private directory. */
final class TaskLogs {
    private static final Logger LOG = Loggers.pool();

    private TaskLogs() {
    }

    /** Creates the directory readable by its owner only, if it does not exist. */
    static void prepare(Path directory) {
        try {
            if (FileSystems.getDefault().supportedFileAttributeViews().contains("posix")) {
                Files.createDirectories(directory,
                        PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
            } else {
                Files.createDirectories(directory);
            }
        } catch (IOException e) {
            throw new IllegalArgumentException("taskLogDirectory " + directory + " cannot be created: " + e, e);
        }
    }

    static void write(Path directory, String taskId, long pid, List<String> lines) {
        // Task ids are printable ASCII but may hold '/' or '..': keep file names to a safe alphabet.
        String name = taskId.replaceAll("[^A-Za-z0-9._-]", "_").replaceAll("^\\.+", "_") + "-" + pid + ".log";
        try {
            Files.write(directory.resolve(name), lines);
        } catch (IOException e) {
            LOG.warn("cannot write the log of task {} to {}: {}", taskId, directory, e.toString());
        }
    }
}
