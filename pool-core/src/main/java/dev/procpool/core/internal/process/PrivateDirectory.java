package dev.procpool.core.internal.process;

import java.io.IOException;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Set;

/** Directories only the current user can enter: created with mode 0700, and trusted only if still so. */
final class PrivateDirectory {
    static final Set<PosixFilePermission> OWNER_ONLY = PosixFilePermissions.fromString("rwx------");

    private PrivateDirectory() {
    }

    /** Mode 0700 for {@link Files#createDirectory}. */
    static FileAttribute<Set<PosixFilePermission>> ownerOnly() {
        return PosixFilePermissions.asFileAttribute(OWNER_ONLY);
    }

    /**
     * Creates the directory (and missing parents) with mode 0700 if it does not exist.
     *
     * @return true if it is now a directory, not a link, owned by the current user, with mode 0700
     */
    static boolean prepare(Path directory) {
        if (!FileSystems.getDefault().supportedFileAttributeViews().contains("posix")) {
            return false;
        }
        try {
            if (!Files.exists(directory, LinkOption.NOFOLLOW_LINKS)) {
                Files.createDirectories(directory, ownerOnly());
            }
        } catch (IOException | UnsupportedOperationException e) {
            return false;
        }
        return isPrivate(directory);
    }

    /** True if the path is a directory, not a link, owned by the current user, with mode 0700. */
    static boolean isPrivate(Path directory) {
        try {
            return Files.isDirectory(directory, LinkOption.NOFOLLOW_LINKS)
                    && Files.getOwner(directory, LinkOption.NOFOLLOW_LINKS).getName()
                    .equals(System.getProperty("user.name"))
                    && Files.getPosixFilePermissions(directory, LinkOption.NOFOLLOW_LINKS).equals(OWNER_ONLY);
        } catch (IOException | UnsupportedOperationException e) {
            return false;
        }
    }
}
