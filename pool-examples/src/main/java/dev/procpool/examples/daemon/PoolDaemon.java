package dev.procpool.examples.daemon;

import com.sun.net.httpserver.HttpServer;
import dev.procpool.WorkerPool;
import dev.procpool.core.metrics.PoolMetrics;
import dev.procpool.examples.daemon.DaemonSettings.InvalidSettingsException;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;

import java.io.IOException;
import java.io.PrintStream;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A standalone daemon: a worker pool run as a service on 127.0.0.1 that takes tasks, and answers status and
 * Prometheus metrics, over HTTP with JSON ({@link DaemonApi} lists the endpoints). Settings come from environment
 * variables ({@link DaemonSettings}); {@code pool-examples/bin/procpoold start|stop|status|restart} runs it in the
 * background with a pid file.
 *
 * <pre>
 * POOL_PORT=7878 POOL_SIZE=2 java -cp CLASSPATH dev.procpool.examples.daemon.PoolDaemon
 * curl -s -XPOST 'http://127.0.0.1:7878/tasks?wait=true' -d '{"type": "upper", "payload": "hello"}'
 * </pre>
 *
 * <p>Lifecycle: validate the settings (exit 2 naming each bad variable), write the pid file (exit 1 if another
 * live daemon owns it), bind the port (exit 1 if taken), start the workers, then print
 * {@value #READY_PREFIX}{@code http://127.0.0.1:PORT} on stdout. On SIGTERM, SIGINT or {@code POST /shutdown} it
 * stops gracefully: refuses new tasks (503), lets queued and running ones finish for up to
 * {@code POOL_SHUTDOWN_TIMEOUT_MS}, stops every worker, answers the requests still waiting, closes the server,
 * removes the pid file and exits 0. A second signal while stopping cancels what still runs.
 *
 * <p>With a durable store ({@code POOL_STORE}), a task is in the store before {@code POST /tasks} answers; a stop
 * lets the running tasks finish and leaves the queued ones in the store, and a daemon killed outright loses nothing
 * either: started again on the same store (or another daemon of the pool on the same PostgreSQL) it runs what was
 * queued, and the attempts the kill cut short again ({@code HOST_LOST}).
 *
 * <p>Why a signal handler and not only a shutdown hook: on SIGTERM the JVM runs every shutdown hook at once,
 * including the pool library's, which kills the workers at once to keep its promise that no worker outlives the
 * host; a graceful drain must therefore happen before the JVM starts exiting. The shutdown hook here is the
 * fallback when signals cannot be caught.
 */
public final class PoolDaemon {
    /** The start of the line printed once the daemon serves requests; the URL follows. */
    public static final String READY_PREFIX = "procpool daemon listening on ";

    /** Connections read or answered at once; more wait in {@link #HTTP_QUEUE}, and beyond that are refused. */
    public static final int HTTP_THREADS = 32;
    /** Connections waiting for a request thread; a connection beyond them is refused at once. */
    public static final int HTTP_QUEUE = 64;
    /** How long a response may take to be written: the longest wait=true plus a margin, so no thread waits forever. */
    private static final Duration MAX_RESPONSE_TIME = Duration.ofMillis(DaemonApi.MAX_WAIT_MS).plusMinutes(1);

    private final DaemonSettings settings;
    private final PrintStream out;
    private final CountDownLatch stopRequested = new CountDownLatch(1);
    private final CountDownLatch stopped = new CountDownLatch(1);
    private final AtomicBoolean signalled = new AtomicBoolean();
    private volatile WorkerPool pool;
    /** Set once the daemon serves requests: from then on a stop request leads to {@link #stopped}. */
    private volatile boolean serving;

    private PoolDaemon(DaemonSettings settings, PrintStream out) {
        this.settings = settings;
        this.out = out;
    }

    public static void main(String[] args) {
        System.exit(run(args, System.out));
    }

    /**
     * Runs the daemon until it is stopped, printing to {@code out}; returns the exit status: 0 after a graceful
     * stop, 1 if it could not start, 2 for bad settings. Installs handlers for SIGTERM and SIGINT.
     */
    public static int run(String[] args, PrintStream out) {
        if (args.length == 1 && (args[0].equals("--help") || args[0].equals("-h"))) {
            out.print(DaemonSettings.help());
            return 0;
        }
        if (args.length > 0) {
            out.println("procpool daemon: error: no arguments expected, got " + List.of(args)
                    + "; settings come from environment variables (--help lists them)");
            return 2;
        }
        DaemonSettings settings;
        try {
            settings = DaemonSettings.fromEnvironment(System.getenv());
        } catch (InvalidSettingsException e) {
            out.println("procpool daemon: error: " + e.getMessage());
            return 2;
        }
        settings.warnings().forEach(w -> out.println("procpool daemon: warning: " + w));
        return new PoolDaemon(settings, out).serve();
    }

    private int serve() {
        installSignalHandlers();
        PidFile pidFile = PidFile.none();
        if (settings.pidFile().isPresent()) {
            Path path = settings.pidFile().get();
            try {
                pidFile = PidFile.acquire(path);
            } catch (IOException | IllegalStateException e) {
                out.println("procpool daemon: error: cannot write the pid file " + path.toAbsolutePath() + ": "
                        + e.getMessage());
                return 1;
            }
        }
        PidFile acquired = pidFile;
        Thread exitHook = new Thread(() -> onJvmExit(acquired), "procpool-daemon-exit");
        Runtime.getRuntime().addShutdownHook(exitHook);
        try {
            return serve(acquired);
        } finally {
            acquired.release();
            try {
                Runtime.getRuntime().removeShutdownHook(exitHook);
            } catch (IllegalStateException e) {
                // the JVM is already exiting: the hook runs and finds the work done
            }
        }
    }

    private int serve(PidFile pidFile) {
        // Bind before starting workers, so that a taken port fails in milliseconds. Connections wait in the
        // backlog until the server starts.
        limitRequestTime(settings.requestTimeout());
        HttpServer server;
        try {
            server = HttpServer.create(new InetSocketAddress(InetAddress.getByName(DaemonSettings.LOOPBACK),
                    settings.port()), 64);
        } catch (IOException e) {
            out.println("procpool daemon: error: cannot listen on " + DaemonSettings.LOOPBACK + ":" + settings.port()
                    + " (POOL_PORT): " + e.getMessage());
            return 1;
        }
        PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        PoolMetrics metrics = new PoolMetrics();
        metrics.bindTo(registry);
        try {
            pool = settings.poolBuilder().tracker(metrics).start();
        } catch (RuntimeException e) { // WorkerStartupException, or a setting the builder refuses
            server.stop(0);
            out.println("procpool daemon: error: the worker pool did not start: " + e.getMessage());
            return 1;
        }
        // Bounded: a thread per connection being read or answered, up to HTTP_THREADS, so a few clients that stall
        // mid-request (each closed after the request timeout) do not hold up the others, and a short queue; a
        // connection beyond both is refused at once (the server resets it when the executor refuses it). Idle
        // threads end after a while.
        ThreadPoolExecutor http = new ThreadPoolExecutor(HTTP_THREADS, HTTP_THREADS, 30, TimeUnit.SECONDS,
                new ArrayBlockingQueue<>(HTTP_QUEUE), threads("procpool-daemon-http-"));
        http.allowCoreThreadTimeOut(true);
        // Answers to wait=true requests; DaemonApi bounds how many wait, so this queue is bounded too.
        ExecutorService responders = new ThreadPoolExecutor(2, 2, 0, TimeUnit.MILLISECONDS,
                new LinkedBlockingQueue<>(), threads("procpool-daemon-respond-"));
        String url = "http://" + DaemonSettings.LOOPBACK + ":" + server.getAddress().getPort();
        DaemonApi api = new DaemonApi(pool, registry, responders, this::requestStop, url, settings.store());
        try {
            metrics.bindTo(registry);
            server.createContext("/", api);
            server.setExecutor(http);
            server.start();
        } catch (RuntimeException e) {
            out.println("procpool daemon: error: cannot serve: " + e);
            server.stop(0);
            pool.shutdownNow();
            responders.shutdownNow();
            http.shutdownNow();
            return 1;
        }
        out.println(READY_PREFIX + url);
        out.println("procpool daemon: pool " + pool.name() + ", " + settings.size() + " workers ("
                + (settings.command().isEmpty() ? "Java handlers " + settings.handlers()
                : "command " + settings.command()) + "), pid " + ProcessHandle.current().pid() + ", pid file "
                + (pidFile.path() == null ? "none" : pidFile.path()) + ", request timeout "
                + settings.requestTimeout().toSeconds() + " s, tasks " + settings.store()
                + (settings.store().isDurable() ? " (lease timeout " + settings.leaseTimeout().toMillis() + " ms)"
                : ""));
        out.flush();

        serving = true;
        try {
            awaitStopRequest();
            out.println(settings.store().isDurable()
                    ? "procpool daemon: stopping: no new tasks; letting running tasks finish (up to "
                    + settings.shutdownTimeout().toMillis() + " ms); queued tasks stay in the store for the next "
                    + "start (or another daemon of the pool)"
                    : "procpool daemon: stopping: no new tasks; letting queued and running tasks finish (up to "
                    + settings.shutdownTimeout().toMillis() + " ms)");
            out.flush();
            api.stopAccepting();
            pool.close(); // graceful: drains, then stops every worker and returns once they have exited
            try {
                if (!api.awaitWaiters(Duration.ofSeconds(5))) {
                    out.println("procpool daemon: some waiting requests were not answered in time");
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            server.stop(1);
            shutdown(responders);
            shutdown(http);
            metrics.close();
            registry.close();
            out.println("procpool daemon stopped");
            out.flush();
            return 0;
        } finally {
            stopped.countDown();
        }
    }

    /**
     * Bounds how long the JDK's HTTP server lets a client take to send a request (headers and body) and to read the
     * answer: a connection still in that state afterwards is closed, which also ends a handler blocked reading its
     * body. The server reads these system properties once, when the first server is made, so this runs before; a
     * value set on the command line wins. ({@code sun.net.httpserver.maxConnections} would bound connections, but
     * the Java 17 builds tried ignore it: the bounded executor does that job.)
     */
    static void limitRequestTime(Duration requestTimeout) {
        System.getProperties().putIfAbsent("sun.net.httpserver.maxReqTime",
                Long.toString(Math.max(1, requestTimeout.toSeconds())));
        System.getProperties().putIfAbsent("sun.net.httpserver.maxRspTime",
                Long.toString(MAX_RESPONSE_TIME.toSeconds()));
    }

    /** Asks for a graceful stop; idempotent. */
    private void requestStop() {
        stopRequested.countDown();
    }

    private void awaitStopRequest() {
        boolean interrupted = false;
        while (true) {
            try {
                stopRequested.await();
                break;
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    /** The first SIGTERM or SIGINT stops gracefully; a second one cancels what still runs. */
    private void onSignal(String signal) {
        if (signalled.compareAndSet(false, true)) {
            out.println("procpool daemon: " + signal + " received");
            requestStop();
            return;
        }
        WorkerPool running = pool;
        if (running != null) {
            out.println("procpool daemon: " + signal + " received again: cancelling running tasks");
            Thread now = new Thread(running::shutdownNow, "procpool-daemon-stop-now");
            now.setDaemon(true);
            now.start();
        }
    }

    /**
     * The JVM is exiting without our stop having run (a signal we could not catch, or {@code System.exit} from
     * elsewhere): stop as gracefully as the concurrent hooks allow, and remove the pid file.
     */
    private void onJvmExit(PidFile pidFile) {
        requestStop();
        if (!serving) {
            pidFile.release();
            return;
        }
        try {
            stopped.await(settings.shutdownTimeout().toMillis() + 15_000, TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        pidFile.release();
    }

    /**
     * Catches SIGTERM and SIGINT through {@code sun.misc.Signal} (module jdk.unsupported, there for exactly this),
     * reached by reflection so the build stays free of internal-API warnings. Without it the shutdown hook is the
     * fallback.
     */
    private void installSignalHandlers() {
        try {
            Class<?> signalClass = Class.forName("sun.misc.Signal");
            Class<?> handlerClass = Class.forName("sun.misc.SignalHandler");
            Object handler = Proxy.newProxyInstance(handlerClass.getClassLoader(), new Class<?>[] {handlerClass},
                    (proxy, method, args) -> switch (method.getName()) {
                        case "handle" -> {
                            onSignal("SIG" + signalClass.getMethod("getName").invoke(args[0]));
                            yield null;
                        }
                        case "hashCode" -> System.identityHashCode(proxy);
                        case "equals" -> proxy == args[0];
                        default -> "procpool-daemon-signal-handler";
                    });
            Method handle = signalClass.getMethod("handle", signalClass, handlerClass);
            for (String name : List.of("TERM", "INT")) {
                try {
                    handle.invoke(null, signalClass.getConstructor(String.class).newInstance(name), handler);
                } catch (ReflectiveOperationException | RuntimeException e) {
                    // e.g. SIGINT ignored by the launching shell: the JVM refuses it; keep the others
                }
            }
        } catch (ReflectiveOperationException | RuntimeException | LinkageError e) {
            out.println("procpool daemon: warning: cannot catch signals (" + e + "); SIGTERM stops the workers at "
                    + "once instead of draining");
        }
    }

    private static void shutdown(ExecutorService executor) {
        executor.shutdown();
        try {
            if (!executor.awaitTermination(5, TimeUnit.SECONDS)) {
                executor.shutdownNow();
            }
        } catch (InterruptedException e) {
            executor.shutdownNow();
            Thread.currentThread().interrupt();
        }
    }

    private static ThreadFactory threads(String prefix) {
        AtomicInteger count = new AtomicInteger();
        return runnable -> {
            Thread thread = new Thread(runnable, prefix + count.incrementAndGet());
            thread.setDaemon(true);
            return thread;
        };
    }
}
