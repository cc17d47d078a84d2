package dev.procpool.core.internal.store;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.stream.Collectors;

/**
 * A host process for the store's fault tests: opens a store, claims tasks, renews its leases every 100 ms, and
 * records its claims as succeeded when told to (a line "RECORD" on stdin), so a test can kill or stop it holding
 * leases and see what its late answers become. Prints one line per step; exits when stdin ends.
 *
 * <p>Arguments: {@code sqlite <file> | postgres <jdbc url>}, then the table prefix, the pool, the lease timeout in
 * milliseconds, and the most tasks to claim.
 */
public final class StoreHostMain {
    public static void main(String[] args) throws Exception {
        StoreSettings settings = StoreSettings.builder().tablePrefix(args[2])
                .leaseTimeout(Duration.ofMillis(Long.parseLong(args[4]))).pollInterval(Duration.ofMillis(50)).build();
        TaskStores.Builder builder;
        if (args[0].equals("sqlite")) {
            builder = TaskStores.sqlite(Path.of(args[1]));
        } else {
            builder = TaskStores.postgres(new UrlDataSource(args[1]));
        }
        JdbcTaskStore store = builder.settings(settings).pool(args[3]).build();
        store.open(StoreEvents.NONE);
        System.out.println("READY " + store.host().name());
        List<ClaimedTask> claimed = store.claim(Integer.parseInt(args[5]), ServedWork.anything(), Instant.now())
                .tasks();
        System.out.println("CLAIMED " + claimed.stream().map(ClaimedTask::id).collect(Collectors.joining(" ")));
        List<LeaseRef> held = claimed.stream().map(ClaimedTask::lease).toList();
        Thread renewals = new Thread(() -> {
            boolean reported = false;
            while (true) {
                try {
                    Thread.sleep(100);
                    RenewResult renewed = store.renew(Instant.now(), held);
                    if (!renewed.lost().isEmpty() && !reported) {
                        reported = true;
                        System.out.println("LOST " + renewed.lost().size());
                    }
                } catch (InterruptedException e) {
                    return;
                } catch (RuntimeException e) {
                    System.out.println("RENEW-FAILED " + e);
                }
            }
        }, "renewals");
        renewals.setDaemon(true);
        renewals.start();
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        String line;
        while ((line = in.readLine()) != null) {
            if (line.equals("RECORD")) {
                List<RecordOutcome> outcomes = store.record(claimed.stream()
                        .map(c -> Tasks.success(c, Instant.now())).toList());
                System.out.println("RECORDED " + outcomes.stream().map(Enum::name)
                        .collect(Collectors.joining(" ")));
            }
        }
        renewals.interrupt();
        store.close();
    }
}
