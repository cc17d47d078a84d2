package dev.procpool.core.internal.store;

import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Instant;
import java.util.HexFormat;
import java.util.Objects;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * One host process as the store knows it: the owner of its leases.
 *
 * @param name           unique among the hosts of a pool, also after restarts (it owns leases): printable ASCII
 *                       without spaces, 1 to 200 characters
 * @param machine        identifies the kernel and pid namespace the host runs in ({@code boot_id} and the pid
 *                       namespace on Linux), so that a host on the same machine can tell from the pid that a host
 *                       died; {@code null} where unknown
 * @param pid            the host's process id
 * @param processStarted when that process started, as the operating system reports it (guards against pid reuse);
 *                       {@code null} where unknown
 */
public record HostIdentity(String name, String machine, long pid, Instant processStarted) {
    private static final Pattern NAME = Pattern.compile("[\\x21-\\x7e]{1,200}");

    public HostIdentity {
        Objects.requireNonNull(name, "name");
        if (!NAME.matcher(name).matches()) {
            throw new IllegalArgumentException("host name must be 1 to 200 printable ASCII characters without "
                    + "spaces, was \"" + name + "\"");
        }
    }

    /** This process: named {@code <hostname>-<pid>-<random>}, so that a restarted host is a new owner. */
    public static HostIdentity current() {
        ProcessHandle self = ProcessHandle.current();
        byte[] random = new byte[4];
        new SecureRandom().nextBytes(random);
        String name = hostName() + "-" + self.pid() + "-" + HexFormat.of().formatHex(random);
        return new HostIdentity(name, localMachine().orElse(null), self.pid(),
                self.info().startInstant().orElse(null));
    }

    /**
     * The machine key of this process: the kernel's boot id and the pid namespace, or empty off Linux. Two hosts
     * with the same key see the same pids.
     */
    static Optional<String> localMachine() {
        try {
            String bootId = Files.readString(Path.of("/proc/sys/kernel/random/boot_id")).trim();
            String pidNamespace = Files.readSymbolicLink(Path.of("/proc/self/ns/pid")).toString();
            return Optional.of(bootId + "/" + pidNamespace);
        } catch (Exception e) { // not Linux, or /proc hidden: the pid check is then off
            return Optional.empty();
        }
    }

    private static String hostName() {
        String name;
        try {
            name = InetAddress.getLocalHost().getHostName();
        } catch (Exception e) {
            name = "host";
        }
        name = name.replaceAll("[^A-Za-z0-9._-]", "_");
        return name.length() > 100 ? name.substring(0, 100) : name;
    }
}
