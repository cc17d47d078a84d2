package dev.procpool.core.testing;

import dev.procpool.PoolEvent;
import dev.procpool.PoolListener;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/** Records a pool's events for assertions. */
public final class EventLog implements PoolListener {
    private final List<PoolEvent> events = new CopyOnWriteArrayList<>();

    @Override
    public void onEvent(PoolEvent event) {
        events.add(event);
    }

    public <T extends PoolEvent> List<T> all(Class<T> type) {
        return events.stream().filter(type::isInstance).map(type::cast).toList();
    }

    public List<PoolEvent> all() {
        return List.copyOf(events);
    }
}
