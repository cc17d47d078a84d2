package dev.procpool;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;

class LoadBalancerTest {

    record Worker(String id, int tasksInFlight, long tasksServed, long rssBytes, Set<String> capabilities)
            implements LoadBalancer.WorkerView {
        @Override
        public String group() {
            return "g";
        }

        @Override
        public long pid() {
            return 1;
        }

        @Override
        public int maxConcurrency() {
            return 4;
        }
    }

    record Task(Set<String> requiredCapabilities) implements LoadBalancer.TaskView {
        @Override
        public String id() {
            return "t";
        }

        @Override
        public String type() {
            return "x";
        }

        @Override
        public int priority() {
            return 10;
        }

        @Override
        public String affinityKey() {
            return null;
        }
    }

    private static final Task ANY = new Task(Set.of());

    @Test
    void roundRobinTakesTurns() {
        LoadBalancer balancer = LoadBalancer.roundRobin().forPool("p");
        List<Worker> workers = List.of(new Worker("w-1", 0, 0, 0, Set.of()), new Worker("w-2", 0, 0, 0, Set.of()),
                new Worker("w-3", 0, 0, 0, Set.of()));
        List<String> chosen = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            chosen.add(balancer.choose(ANY, workers).id());
        }
        assertEquals(List.of("w-1", "w-2", "w-3", "w-1", "w-2", "w-3"), chosen);
    }

    @Test
    void oneRoundRobinGivenToTwoPoolsTakesTurnsInEachPoolSeparately() {
        LoadBalancer shared = LoadBalancer.roundRobin();
        LoadBalancer first = shared.forPool("a");
        LoadBalancer second = shared.forPool("b");
        List<Worker> workers = List.of(new Worker("w-1", 0, 0, 0, Set.of()), new Worker("w-2", 0, 0, 0, Set.of()));
        assertEquals("w-1", first.choose(ANY, workers).id());
        assertEquals("w-1", second.choose(ANY, workers).id(), "the other pool's turn did not move this one");
        assertEquals("w-2", first.choose(ANY, workers).id());
        assertEquals("w-2", second.choose(ANY, workers).id());
    }

    @Test
    void theStatelessBalancersAreTheirOwnPerPoolInstances() {
        assertEquals(LoadBalancer.leastLoaded(), LoadBalancer.leastLoaded().forPool("a"));
        assertEquals(LoadBalancer.capabilityBased(), LoadBalancer.capabilityBased().forPool("a"));
        assertEquals("ROUND_ROBIN", LoadBalancer.roundRobin().forPool("a").toString());
    }

    @Test
    void leastLoadedPrefersFewestInFlightThenFewestServedThenLowestRss() {
        LoadBalancer balancer = LoadBalancer.leastLoaded();
        assertEquals("w-2", balancer.choose(ANY, List.of(new Worker("w-1", 2, 0, 0, Set.of()),
                new Worker("w-2", 1, 900, 900, Set.of()), new Worker("w-3", 3, 0, 0, Set.of()))).id());
        assertEquals("w-3", balancer.choose(ANY, List.of(new Worker("w-1", 1, 50, 10, Set.of()),
                new Worker("w-2", 1, 60, 10, Set.of()), new Worker("w-3", 1, 40, 999, Set.of()))).id());
        assertEquals("w-2", balancer.choose(ANY, List.of(new Worker("w-1", 1, 40, 20, Set.of()),
                new Worker("w-2", 1, 40, 10, Set.of()))).id());
        assertEquals("w-1", balancer.choose(ANY, List.of(new Worker("w-1", 0, 0, 0, Set.of()),
                new Worker("w-2", 0, 0, 0, Set.of()))).id(), "full ties go to the first (lowest id)");
    }

    @Test
    void capabilityBasedKeepsSpecialisedWorkersFree() {
        LoadBalancer balancer = LoadBalancer.capabilityBased();
        Worker plain = new Worker("w-1", 3, 0, 0, Set.of("java"));
        Worker gpu = new Worker("w-2", 0, 0, 0, Set.of("java", "gpu"));
        assertEquals("w-1", balancer.choose(new Task(Set.of("java")), List.of(plain, gpu)).id(),
                "the closest fit wins even when busier");
        assertEquals("w-2", balancer.choose(new Task(Set.of("gpu")), List.of(gpu)).id());
        Worker plain2 = new Worker("w-3", 1, 0, 0, Set.of("java"));
        assertEquals("w-3", balancer.choose(new Task(Set.of()), List.of(plain, gpu, plain2)).id(),
                "among equally close fits, the least loaded");
    }
}
