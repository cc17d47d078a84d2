package dev.procpool.core.internal.events;

import dev.procpool.PoolEvent;
import dev.procpool.PoolListener;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ThreadFactory;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.IntStream;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class EventBusTest {
    private static final Duration BOUND = Duration.ofSeconds(20);

    /** Threads of the bus under test; whatever escapes a thread is recorded here. */
    private final List<Throwable> uncaught = new CopyOnWriteArrayList<>();
    private final List<Thread> started = new CopyOnWriteArrayList<>();
    private final ThreadFactory threads = runnable -> {
        Thread thread = new Thread(runnable, "test-events");
        thread.setDaemon(true);
        thread.setUncaughtExceptionHandler((t, e) -> uncaught.add(e));
        started.add(thread);
        return thread;
    };
    private EventBus bus;

    @AfterEach
    void close() {
        if (bus != null) {
            bus.close();
        }
    }

    private static PoolEvent event(int n) {
        return new PoolEvent.Scaled("bus-test", Instant.EPOCH, "group", n, n + 1);
    }

    /** Records the {@code from} member of every event it receives. */
    private static final class Recorder implements PoolListener {
        final List<Integer> seen = Collections.synchronizedList(new ArrayList<>());

        @Override
        public void onEvent(PoolEvent event) {
            seen.add(((PoolEvent.Scaled) event).from());
        }
    }

    private static Throwable error(String kind) {
        return switch (kind) {
            case "OutOfMemoryError" -> new OutOfMemoryError("Java heap space (thrown by a test listener)");
            case "InternalError" -> new InternalError("thrown by a test listener");
            case "AssertionError" -> new AssertionError("thrown by a test listener");
            case "LinkageError" -> new NoClassDefFoundError("com/example/Missing");
            case "RuntimeException" -> new IllegalStateException("thrown by a test listener");
            case "checked" -> new java.io.IOException("thrown by a test listener");
            default -> throw new IllegalArgumentException(kind);
        };
    }

    /** Throws any throwable, checked ones included, as a listener compiled elsewhere could. */
    @SuppressWarnings("unchecked")
    private static <T extends Throwable> void sneakyThrow(Throwable t) throws T {
        throw (T) t;
    }

    private static List<Integer> upTo(int n) {
        return IntStream.range(0, n).boxed().toList();
    }

    @ParameterizedTest(name = "a listener throwing {0} on every event")
    @ValueSource(strings = {"OutOfMemoryError", "InternalError", "AssertionError", "LinkageError", "RuntimeException",
            "checked"})
    void a_listener_that_throws_does_not_silence_the_others(String kind) {
        Recorder before = new Recorder();
        Recorder after = new Recorder();
        PoolListener thrower = event -> sneakyThrow(error(kind));
        bus = new EventBus(threads, List.of(before, thrower, after));

        for (int i = 0; i < 50; i++) {
            bus.publish(event(i));
        }

        await().atMost(BOUND).until(() -> after.seen.size() == 50);
        assertEquals(upTo(50), after.seen, "every event, in order, to the listener after the thrower");
        assertEquals(upTo(50), before.seen);
        assertEquals(50, bus.listenerFailures());
        assertEquals(List.of(), uncaught, "nothing escapes the delivery thread");
        assertEquals(1, started.size(), "one delivery thread throughout");
    }

    @Test
    void a_real_stack_overflow_in_a_listener_does_not_silence_the_others() {
        Recorder after = new Recorder();
        PoolListener recursive = new PoolListener() {
            @Override
            public void onEvent(PoolEvent event) {
                onEvent(event);
            }
        };
        bus = new EventBus(threads, List.of(recursive, after));

        for (int i = 0; i < 5; i++) {
            bus.publish(event(i));
        }

        await().atMost(BOUND).until(() -> after.seen.size() == 5);
        assertEquals(upTo(5), after.seen);
        assertEquals(5, bus.listenerFailures());
        assertEquals(List.of(), uncaught);
    }

    @Test
    void a_listener_that_fails_once_keeps_receiving_events() {
        List<Integer> seen = new CopyOnWriteArrayList<>();
        PoolListener flaky = event -> {
            int n = ((PoolEvent.Scaled) event).from();
            if (n == 0) {
                throw new OutOfMemoryError("first event only");
            }
            seen.add(n);
        };
        bus = new EventBus(threads, List.of(flaky));

        for (int i = 0; i < 3; i++) {
            bus.publish(event(i));
        }

        await().atMost(BOUND).until(() -> seen.size() == 2);
        assertEquals(List.of(1, 2), seen);
        assertEquals(1, bus.listenerFailures());
    }

    @Test
    void a_listener_whose_failure_and_name_throw_again_does_not_stop_delivery() {
        Recorder after = new Recorder();
        PoolListener hostile = new PoolListener() {
            @Override
            public void onEvent(PoolEvent event) {
                throw new Error() {
                    @Override
                    public String getMessage() {
                        throw new OutOfMemoryError("from getMessage");
                    }

                    @Override
                    public void printStackTrace(PrintStream s) {
                        throw new OutOfMemoryError("from printStackTrace");
                    }
                };
            }

            @Override
            public String toString() {
                throw new StackOverflowError("from toString");
            }
        };
        bus = new EventBus(threads, List.of(hostile, after));

        for (int i = 0; i < 12; i++) { // past the tenth failure, which is logged with its count
            bus.publish(event(i));
        }

        await().atMost(BOUND).until(() -> after.seen.size() == 12);
        assertEquals(upTo(12), after.seen);
        assertEquals(List.of(), uncaught);
    }

    @Test
    void a_listener_that_interrupts_the_delivery_thread_does_not_stop_delivery() {
        Recorder after = new Recorder();
        PoolListener interrupting = event -> Thread.currentThread().interrupt();
        bus = new EventBus(threads, List.of(interrupting, after));

        bus.publish(event(0));
        await().atMost(BOUND).until(() -> after.seen.size() == 1);
        // the thread now waits for the next event: an interrupt left pending would have ended it
        bus.publish(event(1));
        bus.publish(event(2));

        await().atMost(BOUND).until(() -> after.seen.size() == 3);
        assertEquals(upTo(3), after.seen);
        assertEquals(1, started.size());
    }

    @Test
    void failures_are_logged_once_with_the_stack_then_with_a_count() {
        Recorder after = new Recorder();
        PoolListener thrower = new PoolListener() {
            @Override
            public void onEvent(PoolEvent event) {
                throw new OutOfMemoryError("simulated by the listener");
            }

            @Override
            public String toString() {
                return "the-throwing-listener";
            }
        };
        PrintStream original = System.err;
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        System.setErr(new PrintStream(captured, true, StandardCharsets.UTF_8));
        try {
            bus = new EventBus(threads, List.of(thrower, after));
            for (int i = 0; i < 150; i++) {
                bus.publish(event(i));
            }
            await().atMost(BOUND).until(() -> after.seen.size() == 150);
        } finally {
            System.setErr(original);
        }
        String log = captured.toString(StandardCharsets.UTF_8);

        assertEquals(1, count(log, "the-throwing-listener threw on Scaled"), log);
        assertEquals(1, lineStarts(log, "java.lang.OutOfMemoryError: simulated by the listener"), "one stack: " + log);
        assertTrue(log.contains("ERROR"), "a VirtualMachineError is logged at ERROR: " + log);
        assertEquals(1, count(log, "the-throwing-listener has failed 10 times"), log);
        assertEquals(1, count(log, "the-throwing-listener has failed 100 times"), log);
        assertEquals(3, count(log, "the-throwing-listener"), "nothing else about it: " + log);
        assertEquals(150, bus.listenerFailures());
    }

    @Test
    void a_removed_listener_gets_nothing_more_and_close_delivers_what_is_queued() {
        Recorder kept = new Recorder();
        Recorder removed = new Recorder();
        bus = new EventBus(threads, List.of(kept, removed));
        assertTrue(bus.remove(removed));
        for (int i = 0; i < 100; i++) {
            bus.publish(event(i));
        }
        bus.close();
        bus.publish(event(100)); // after close: ignored

        await().atMost(BOUND).until(() -> kept.seen.size() == 100);
        await().atMost(BOUND).until(() -> started.stream().noneMatch(Thread::isAlive));
        assertEquals(upTo(100), kept.seen);
        assertEquals(List.of(), removed.seen);
    }

    private static int lineStarts(String text, String needle) {
        return find(text, Pattern.compile("(?m)^" + Pattern.quote(needle)));
    }

    private static int count(String text, String needle) {
        return find(text, Pattern.compile(Pattern.quote(needle)));
    }

    private static int find(String text, Pattern pattern) {
        Matcher m = pattern.matcher(text);
        int n = 0;
        while (m.find()) {
            n++;
        }
        return n;
    }
}
