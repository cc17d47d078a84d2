package dev.procpool.core.internal.store;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class GroupCommitTest {
    static final class Item extends GroupCommit.Item {
        final String name;
        final int weight;

        Item(String name, int weight) {
            this.name = name;
            this.weight = weight;
        }

        @Override
        int weight() {
            return weight;
        }
    }

    private final List<List<String>> batches = new CopyOnWriteArrayList<>();
    private final CountDownLatch firstBatchMayEnd = new CountDownLatch(1);
    private GroupCommit<Item> commit;

    private GroupCommit<Item> start(int maxWeight, RuntimeException failWhenBad) {
        commit = new GroupCommit<>(runnable -> new Thread(runnable, "test-"), "writer", maxWeight, items -> {
            List<String> names = items.stream().map(i -> i.name).toList();
            batches.add(names);
            if (batches.size() == 1) {
                try {
                    firstBatchMayEnd.await(10, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            if (names.contains("bad") && failWhenBad != null) {
                throw failWhenBad;
            }
            List<Object> results = new ArrayList<>();
            names.forEach(name -> results.add("done " + name + " in a batch of " + names.size()));
            return results;
        });
        commit.start();
        return commit;
    }

    @AfterEach
    void close() {
        firstBatchMayEnd.countDown();
        commit.close();
    }

    /** Submits the first item, waits until its batch runs, then queues the others behind it. */
    private List<CompletableFuture<Object>> queueBehindFirst(String... names) {
        List<CompletableFuture<Object>> futures = new ArrayList<>();
        futures.add(commit.submit(new Item("first", 1)));
        await().atMost(Duration.ofSeconds(10)).until(() -> batches.size() == 1);
        for (String name : names) {
            futures.add(commit.submit(new Item(name, 1)));
        }
        return futures;
    }

    @Test
    void itemsQueuedWhileATransactionRunsShareTheNextOne() throws Exception {
        start(100, null);
        List<CompletableFuture<Object>> futures = queueBehindFirst("a", "b", "c", "d");
        assertTrue(futures.stream().noneMatch(CompletableFuture::isDone), "nothing completes before its commit");
        firstBatchMayEnd.countDown();
        assertEquals("done a in a batch of 4", futures.get(1).get(10, TimeUnit.SECONDS));
        assertEquals("done d in a batch of 4", futures.get(4).get(10, TimeUnit.SECONDS));
        assertEquals(List.of(List.of("first"), List.of("a", "b", "c", "d")), batches);
    }

    @Test
    void aBatchCarriesNoMoreThanItsWeight() throws Exception {
        start(5, null);
        CompletableFuture<Object> first = commit.submit(new Item("first", 1));
        await().atMost(Duration.ofSeconds(10)).until(() -> batches.size() == 1);
        List<CompletableFuture<Object>> rest = List.of(commit.submit(new Item("three", 3)),
                commit.submit(new Item("two", 2)), commit.submit(new Item("four", 4)), commit.submit(
                        new Item("nine", 9)));
        firstBatchMayEnd.countDown();
        first.get(10, TimeUnit.SECONDS);
        for (CompletableFuture<Object> future : rest) {
            future.get(10, TimeUnit.SECONDS);
        }
        assertEquals(List.of(List.of("first"), List.of("three", "two"), List.of("four"), List.of("nine")), batches,
                "an item heavier than the limit goes alone");
    }

    @Test
    void anItemTheDatabaseRefusesFailsAloneAndTheOthersAreCommitted() throws Exception {
        start(100, new IllegalStateException("refused"));
        List<CompletableFuture<Object>> futures = queueBehindFirst("a", "bad", "c");
        firstBatchMayEnd.countDown();
        assertEquals("done a in a batch of 1", futures.get(1).get(10, TimeUnit.SECONDS));
        ExecutionException bad = assertThrows(ExecutionException.class, () -> futures.get(2).get(10, TimeUnit.SECONDS));
        assertEquals("refused", bad.getCause().getMessage());
        assertEquals("done c in a batch of 1", futures.get(3).get(10, TimeUnit.SECONDS));
    }

    @Test
    void anOutageFailsTheWholeBatch() {
        start(100, new StoreUnavailableException("down", null));
        List<CompletableFuture<Object>> futures = queueBehindFirst("a", "bad", "c");
        firstBatchMayEnd.countDown();
        for (CompletableFuture<Object> future : futures.subList(1, 4)) {
            ExecutionException failed = assertThrows(ExecutionException.class, () -> future.get(10, TimeUnit.SECONDS));
            assertInstanceOf(StoreUnavailableException.class, failed.getCause());
        }
        assertEquals(2, batches.size(), "no item was run again on its own");
    }

    @Test
    void closingRunsWhatIsQueuedAndRefusesLaterItems() throws Exception {
        start(100, null);
        List<CompletableFuture<Object>> futures = queueBehindFirst("a");
        firstBatchMayEnd.countDown();
        commit.close();
        assertEquals("done a in a batch of 1", futures.get(1).get(10, TimeUnit.SECONDS));
        ExecutionException late = assertThrows(ExecutionException.class,
                () -> commit.submit(new Item("late", 1)).get(10, TimeUnit.SECONDS));
        assertEquals("the task store is closed", late.getCause().getMessage());
    }
}
