package dev.procpool.examples.daemon;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Optional;

/**
 * The daemon's pid file: one line with the pid. Written atomically on start, refusing to replace the file of a
 * process that is still alive; removed on exit only while it still names this process.
 */
final class PidFile {
    private final Path path;
    private final long pid;
    private boolean released;

    private PidFile(Path path, long pid) {
        this.path = path;
        this.pid = pid;
    }

    /**
     * Writes this process's pid to {@code path}.
     *
     * @throws IllegalStateException if the file names another live process
     * @throws IOException           if the file cannot be written
     */
    static PidFile acquire(Path path) throws IOException {
        Path absolute = path.toAbsolutePath();
        long self = ProcessHandle.current().pid();
        Optional<Long> previous = read(absolute);
        if (previous.isPresent() && previous.get() != self
                && ProcessHandle.of(previous.get()).map(ProcessHandle::isAlive).orElse(false)) {
            throw new IllegalStateException("pid file " + absolute + " names process " + previous.get()
                    + ", which is running: is a daemon already running? (if not, delete the file)");
        }
        Path parent = absolute.getParent();
        if (parent != null) {
            Files.createDirectories(parent);
        }
        Path temp = Files.createTempFile(parent, ".procpool-", ".pid.tmp");
        try {
            Files.writeString(temp, self + "\n", StandardCharsets.US_ASCII);
            try {
                Files.move(temp, absolute, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(temp, absolute, StandardCopyOption.REPLACE_EXISTING);
            }
        } finally {
            Files.deleteIfExists(temp);
        }
        return new PidFile(absolute, self);
    }

    /** No pid file (none was asked for): releasing it does nothing. */
    static PidFile none() {
        PidFile none = new PidFile(null, -1);
        none.released = true;
        return none;
    }

    /** The file, or null for {@link #none()}. */
    Path path() {
        return path;
    }

    /** Deletes the file if it still names this process. Idempotent; never throws. */
    synchronized void release() {
        if (released) {
            return;
        }
        released = true;
        try {
            if (read(path).map(p -> p == pid).orElse(false)) {
                Files.deleteIfExists(path);
            }
        } catch (IOException | RuntimeException e) {
            System.err.println("procpool daemon: could not remove pid file " + path + ": " + e);
        }
    }

    private static Optional<Long> read(Path path) throws IOException {
        try {
            String text = Files.readString(path, StandardCharsets.US_ASCII).trim();
            return Optional.of(Long.parseLong(text));
        } catch (NoSuchFileException e) {
            return Optional.empty();
        } catch (NumberFormatException | java.nio.charset.MalformedInputException e) {
            return Optional.empty(); // garbage: treat as stale
        }
    }
}
