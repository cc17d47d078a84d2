package dev.procpool.core.it;

import dev.procpool.TaskStore;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** {@link DurablePoolContract} on SQLite: one file per test. */
class DurableSqlitePoolIT extends DurablePoolContract {
    @Override
    TaskStore.Durable store(String prefix) {
        return TaskStore.sqlite(dir.resolve(prefix + ".db"));
    }

    @Override
    String kind() {
        return "sqlite";
    }

    @Override
    TaskStore.Durable unreachable() {
        // a regular file where the database's directory should be: the database cannot be created
        Path notADirectory = dir.resolve("plain-file");
        try {
            Files.writeString(notADirectory, "not a directory");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return TaskStore.sqlite(notADirectory.resolve("tasks.db"));
    }
}
