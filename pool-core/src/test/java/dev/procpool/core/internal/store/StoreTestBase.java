package dev.procpool.core.internal.store;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

/** Stores on this test's own tables (a fresh prefix per test), closed after each test. */
abstract class StoreTestBase implements StoreFixture {
    private static final AtomicInteger TESTS = new AtomicInteger();

    private final List<JdbcTaskStore> stores = new ArrayList<>();
    private String prefix;

    /** The dialect's store builder for these settings. */
    abstract TaskStores.Builder builder(StoreSettings settings);

    @BeforeEach
    void freshTables() {
        prefix = "t" + TESTS.incrementAndGet() + "_";
    }

    @AfterEach
    void closeStores() {
        List<JdbcTaskStore> open;
        synchronized (stores) {
            open = List.copyOf(stores);
            stores.clear();
        }
        open.forEach(JdbcTaskStore::close);
    }

    @Override
    public StoreSettings.Builder settings() {
        return StoreSettings.builder().tablePrefix(prefix).pollInterval(Duration.ofMillis(50));
    }

    @Override
    public String table(String name) {
        return prefix + name;
    }

    static HostIdentity host(String name) {
        ProcessHandle self = ProcessHandle.current();
        return new HostIdentity(name, HostIdentity.localMachine().orElse(null), self.pid(),
                self.info().startInstant().orElse(null));
    }

    @Override
    public JdbcTaskStore build(String name, StoreSettings.Builder settings) {
        return build(host(name), settings);
    }

    private JdbcTaskStore build(HostIdentity host, StoreSettings.Builder settings) {
        JdbcTaskStore store = builder(settings.build()).pool(pool()).host(host).build();
        synchronized (stores) {
            stores.add(store);
        }
        return store;
    }

    @Override
    public JdbcTaskStore open(String name, StoreSettings.Builder settings, StoreEvents events) {
        JdbcTaskStore store = build(host(name), settings);
        store.open(events);
        return store;
    }

    @Override
    public JdbcTaskStore open(HostIdentity host, StoreSettings.Builder settings) {
        JdbcTaskStore store = build(host, settings);
        store.open(StoreEvents.NONE);
        return store;
    }
}
