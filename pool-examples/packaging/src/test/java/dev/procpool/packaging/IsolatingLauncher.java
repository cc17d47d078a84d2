package dev.procpool.packaging;

import java.io.File;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * Runs the packaged host from a class loader of its own, as an application server or a plugin system does: the
 * host's classes and pool-core are on no path a worker JVM could be given. Arguments: the jars, then the host's.
 */
public final class IsolatingLauncher {
    private IsolatingLauncher() {
    }

    public static void main(String[] args) throws Exception {
        URL[] jars = new URL[args[0].split(File.pathSeparator).length];
        int i = 0;
        for (String jar : args[0].split(File.pathSeparator)) {
            jars[i++] = Path.of(jar).toUri().toURL();
        }
        try (URLClassLoader plugins = new URLClassLoader("plugins", jars, ClassLoader.getPlatformClassLoader())) {
            Thread.currentThread().setContextClassLoader(plugins);
            plugins.loadClass("dev.procpool.packaging.PackagedHost").getMethod("main", String[].class)
                    .invoke(null, (Object) Arrays.copyOfRange(args, 1, args.length));
        }
    }
}
