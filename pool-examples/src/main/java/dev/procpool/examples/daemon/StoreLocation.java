package dev.procpool.examples.daemon;

import dev.procpool.TaskStore;
import org.postgresql.Driver;
import org.postgresql.ds.PGSimpleDataSource;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.time.Duration;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;

/**
 * Where a pool of the examples keeps its tasks, written as one string: the daemon's {@code POOL_STORE}, the cluster
 * example's {@code --url}. Validated when it is read, with a message that names the setting, the bad value and what
 * is allowed; opened only when the pool starts ({@link #taskStore}).
 *
 * <ul>
 *   <li>empty: in memory (the pool's default: tasks end with the process);</li>
 *   <li>{@code sqlite:PATH}, or a plain path ending in {@code .db}: a SQLite file on local disk (created, with its
 *       folders, mode 0700, if absent), so that tasks survive a restart of the process;</li>
 *   <li>{@code jdbc:postgresql://HOST[:PORT]/DATABASE[?PARAMETERS]}: PostgreSQL, where processes with the same pool
 *       name share one queue. The user may be in the URL ({@code ?user=NAME}) or given apart; the password never is
 *       in the URL, which an environment variable or a command line shows to anyone who can list processes and
 *       which ends up in logs: it comes from a file readable by its owner only (like PostgreSQL's own
 *       {@code ~/.pgpass}, which the driver reads when no password is given).</li>
 * </ul>
 *
 * <p>{@link #toString()} never shows the password. Immutable.
 */
public final class StoreLocation {
    /** Plain paths with this ending are SQLite files. */
    public static final String SQLITE_SUFFIX = ".db";
    public static final String SQLITE_PREFIX = "sqlite:";
    public static final String POSTGRES_PREFIX = "jdbc:postgresql:";
    /** The longest password file read: a password, not a dump by mistake. */
    private static final int MAX_PASSWORD_BYTES = 4096;
    private static final String ALLOWED = "a SQLite file (sqlite:PATH, or a path ending in " + SQLITE_SUFFIX
            + ") or a PostgreSQL JDBC URL (jdbc:postgresql://HOST[:PORT]/DATABASE[?user=NAME])";

    /** Which database, if any. */
    public enum Kind {
        /** No database: the pool's memory. */
        MEMORY,
        /** One SQLite file. */
        SQLITE,
        /** A PostgreSQL server. */
        POSTGRESQL
    }

    private final Kind kind;
    private final Path file;
    private final String url;
    private final String user;
    private final Path passwordFile;
    private final String password;

    private StoreLocation(Kind kind, Path file, String url, String user, Path passwordFile, String password) {
        this.kind = kind;
        this.file = file;
        this.url = url;
        this.user = user;
        this.passwordFile = passwordFile;
        this.password = password;
    }

    /** {@return tasks in the pool's memory} */
    public static StoreLocation memory() {
        return new StoreLocation(Kind.MEMORY, null, null, null, null, null);
    }

    /**
     * Reads a store location.
     *
     * @param setting      the setting's name, for messages ({@code POOL_STORE}, {@code --url})
     * @param value        the location; {@code null} or blank means in memory
     * @param user         the PostgreSQL user, or {@code null} (then the URL's {@code user}, else the driver's default)
     * @param userSetting  that setting's name, for messages
     * @param passwordFile a file whose first line is the PostgreSQL password, or {@code null}
     * @param fileSetting  that setting's name, for messages
     * @return the location
     * @throws IllegalArgumentException naming the bad setting, its value, and what is allowed
     */
    public static StoreLocation parse(String setting, String value, String user, String userSetting,
                                      String passwordFile, String fileSetting) {
        Objects.requireNonNull(setting, "setting");
        String text = value == null ? "" : value.trim();
        if (text.isEmpty()) {
            if (user != null || passwordFile != null) {
                throw new IllegalArgumentException((user != null ? userSetting : fileSetting)
                        + " applies to a PostgreSQL store only; set " + setting + " to a jdbc:postgresql: URL or "
                        + "unset it");
            }
            return memory();
        }
        if (text.startsWith(POSTGRES_PREFIX)) {
            return postgres(setting, text, user, userSetting, passwordFile, fileSetting);
        }
        if (user != null || passwordFile != null) {
            throw new IllegalArgumentException((user != null ? userSetting : fileSetting)
                    + " applies to a PostgreSQL store only, and " + setting + " is not a jdbc:postgresql: URL");
        }
        String path;
        if (text.startsWith(SQLITE_PREFIX)) {
            path = text.substring(SQLITE_PREFIX.length());
        } else if (text.toLowerCase(Locale.ROOT).endsWith(SQLITE_SUFFIX) && !text.contains("://")
                && !text.startsWith("jdbc:")) {
            path = text;
        } else {
            throw new IllegalArgumentException(setting + " must be " + ALLOWED + ", was \"" + text + "\"");
        }
        return sqlite(setting, text, path);
    }

    private static StoreLocation sqlite(String setting, String text, String path) {
        if (path.isBlank() || path.startsWith(":")) { // ":memory:" would not survive a restart
            throw new IllegalArgumentException(setting + " must name a SQLite file after \"" + SQLITE_PREFIX
                    + "\" (an in-memory database would not survive a restart: leave " + setting
                    + " unset for that), was \"" + text + "\"");
        }
        Path file;
        try {
            file = Path.of(path).toAbsolutePath().normalize();
        } catch (InvalidPathException e) {
            throw new IllegalArgumentException(setting + " must be a file path, was \"" + text + "\": "
                    + e.getReason());
        }
        if (Files.isDirectory(file)) {
            throw new IllegalArgumentException(setting + " must name a SQLite file, not a directory, was \""
                    + text + "\" (" + file + " is a directory)");
        }
        for (Path parent = file.getParent(); parent != null; parent = parent.getParent()) {
            if (Files.exists(parent)) { // the nearest folder that exists; the pool creates the rest
                if (!Files.isDirectory(parent)) {
                    throw new IllegalArgumentException(setting + " must be a file path whose folders are folders, "
                            + "was \"" + text + "\" (" + parent + " is a file)");
                }
                break;
            }
        }
        return new StoreLocation(Kind.SQLITE, file, null, null, null, null);
    }

    private static StoreLocation postgres(String setting, String url, String user, String userSetting,
                                          String passwordFile, String fileSetting) {
        Properties parsed = Driver.parseURL(url, new Properties());
        if (parsed == null) {
            throw new IllegalArgumentException(setting + " must be " + ALLOWED + ", was \"" + url
                    + "\" (the PostgreSQL driver cannot read this URL)");
        }
        if (parsed.containsKey("password")) {
            throw new IllegalArgumentException(setting + " must not carry a password: anyone who can list processes "
                    + "may see it, and it ends up in logs. Put the password in a file readable by you only and name "
                    + "it in " + fileSetting + ", or in ~/.pgpass; was a URL with a password parameter");
        }
        if (user != null && parsed.containsKey("user")) {
            throw new IllegalArgumentException(userSetting + " and a user in " + setting + " cannot both be set, "
                    + "was " + userSetting + "=\"" + user + "\" and user=\"" + parsed.getProperty("user") + "\"");
        }
        if (user != null && user.isBlank()) {
            throw new IllegalArgumentException(userSetting + " must be a PostgreSQL user name, was blank");
        }
        Path passwordPath = null;
        String password = null;
        if (passwordFile != null) {
            passwordPath = Path.of(passwordFile).toAbsolutePath();
            password = readPassword(fileSetting, passwordFile, passwordPath);
        }
        return new StoreLocation(Kind.POSTGRESQL, null, url, user, passwordPath, password);
    }

    /** The first line of the file, which must be private to its owner and short. */
    private static String readPassword(String fileSetting, String text, Path path) {
        String problem = fileSetting + " must be a readable file holding the password on its first line, only its "
                + "owner may read it (chmod 600), was \"" + text + "\"";
        if (!Files.isRegularFile(path) || !Files.isReadable(path)) {
            throw new IllegalArgumentException(problem + " (no such readable file)");
        }
        try {
            Set<PosixFilePermission> permissions = Files.getPosixFilePermissions(path);
            for (PosixFilePermission permission : permissions) {
                if (!permission.name().startsWith("OWNER_")) {
                    throw new IllegalArgumentException(problem + " (others may read or change it: mode "
                            + java.nio.file.attribute.PosixFilePermissions.toString(permissions) + ")");
                }
            }
        } catch (UnsupportedOperationException e) {
            // not a POSIX file system: its own access control applies
        } catch (IOException e) {
            throw new IllegalArgumentException(problem + " (" + e.getMessage() + ")");
        }
        try {
            if (Files.size(path) > MAX_PASSWORD_BYTES) {
                throw new IllegalArgumentException(problem + " (larger than " + MAX_PASSWORD_BYTES + " bytes)");
            }
            String first = Files.readString(path, StandardCharsets.UTF_8).lines().findFirst().orElse("");
            if (first.isEmpty()) {
                throw new IllegalArgumentException(problem + " (its first line is empty)");
            }
            return first;
        } catch (IOException e) {
            throw new IllegalArgumentException(problem + " (" + e.getMessage() + ")");
        }
    }

    /** {@return which database} */
    public Kind kind() {
        return kind;
    }

    /** {@return whether tasks outlive the process} */
    public boolean isDurable() {
        return kind != Kind.MEMORY;
    }

    /** {@return the SQLite file, absolute; empty for the other kinds} */
    public Optional<Path> file() {
        return Optional.ofNullable(file);
    }

    /** {@return the PostgreSQL URL as given (it holds no password); empty for the other kinds} */
    public Optional<String> url() {
        return Optional.ofNullable(url);
    }

    /**
     * The pool's task store for this location; a PostgreSQL store connects through the driver's own
     * {@link PGSimpleDataSource}, a new connection on each call. That is enough without a connection pool such as
     * HikariCP: the store opens a few connections when it starts and keeps them (reconnecting after a failure), so
     * connections are rarely made, and a second pool of connections would only hold idle ones.
     *
     * @param pool         the pool's name: PostgreSQL's {@code application_name} unless the URL sets one
     * @param leaseTimeout how long a host's claim on a running task lasts without renewal
     * @return the store (not opened yet: the pool opens it when it starts)
     */
    public TaskStore taskStore(String pool, Duration leaseTimeout) {
        return switch (kind) {
            case MEMORY -> TaskStore.inMemory();
            case SQLITE -> TaskStore.sqlite(file).withLeaseTimeout(leaseTimeout);
            case POSTGRESQL -> {
                PGSimpleDataSource dataSource = new PGSimpleDataSource();
                dataSource.setURL(url);
                if (user != null) {
                    dataSource.setUser(user);
                }
                if (password != null) {
                    dataSource.setPassword(password);
                }
                if (!Objects.requireNonNull(Driver.parseURL(url, new Properties())).containsKey("ApplicationName")) {
                    dataSource.setApplicationName("procpool " + pool); // who is who in pg_stat_activity
                }
                yield TaskStore.postgres(dataSource).withLeaseTimeout(leaseTimeout);
            }
        };
    }

    /** What a log line shows: the kind and where, never a password. */
    @Override
    public String toString() {
        return switch (kind) {
            case MEMORY -> "in memory";
            case SQLITE -> "SQLite " + file;
            case POSTGRESQL -> "PostgreSQL " + url + (user == null ? "" : " as " + user)
                    + (passwordFile == null ? "" : " (password from " + passwordFile + ")");
        };
    }
}
