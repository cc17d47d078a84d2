package dev.procpool.core.internal.store;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.procpool.FailureReason;
import dev.procpool.RetryPolicy;

import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The JSON columns of the store: retry policies, capability sets and output tails. Plain trees, no type
 * information. Thread-safe.
 */
final class StoreJson {
    private static final ObjectMapper MAPPER = new ObjectMapper();
    /** Policies are few (the pool's default and a handful more) and used by many tasks: write and read each once. */
    private static final int MAX_CACHED = 256;
    private static final Map<RetryPolicy, String> WRITTEN = new ConcurrentHashMap<>();
    private static final Map<String, RetryPolicy> READ = new ConcurrentHashMap<>();

    private StoreJson() {
    }

    static String retryPolicy(RetryPolicy policy) {
        String json = WRITTEN.get(policy); // by identity: RetryPolicy has no equals
        if (json == null) {
            json = writePolicy(policy);
            if (WRITTEN.size() >= MAX_CACHED) {
                WRITTEN.clear();
            }
            WRITTEN.put(policy, json);
        }
        return json;
    }

    static RetryPolicy retryPolicy(String json) {
        RetryPolicy policy = READ.get(json);
        if (policy == null) {
            policy = readPolicy(json);
            if (READ.size() >= MAX_CACHED) {
                READ.clear();
            }
            READ.put(json, policy);
        }
        return policy;
    }

    private static String writePolicy(RetryPolicy policy) {
        ObjectNode node = MAPPER.createObjectNode();
        node.put("maxAttempts", policy.maxAttempts());
        node.put("initialDelay", policy.initialDelay().toString());
        node.put("multiplier", policy.multiplier());
        node.put("maxDelay", policy.maxDelay().toString());
        node.put("jitter", policy.jitter());
        node.put("firstCrashAtOnce", policy.retriesFirstCrashAtOnce());
        ArrayNode retryOn = node.putArray("retryOn");
        new TreeSet<>(policy.retryOn().stream().map(Enum::name).toList()).forEach(retryOn::add);
        return node.toString();
    }

    private static RetryPolicy readPolicy(String json) {
        JsonNode node = read(json, "retry policy");
        Set<FailureReason> retryOn = EnumSet.noneOf(FailureReason.class);
        for (JsonNode reason : node.path("retryOn")) {
            try {
                retryOn.add(FailureReason.valueOf(reason.asText()));
            } catch (IllegalArgumentException e) {
                // Written by a newer version that knows more reasons: this version never produces them.
            }
        }
        return RetryPolicy.builder()
                .maxAttempts(node.path("maxAttempts").asInt())
                .initialDelay(Duration.parse(node.path("initialDelay").asText()))
                .multiplier(node.path("multiplier").asDouble())
                .maxDelay(Duration.parse(node.path("maxDelay").asText()))
                .jitter(node.path("jitter").asDouble())
                .retryOn(retryOn)
                .retryFirstCrashAtOnce(node.path("firstCrashAtOnce").asBoolean(true)) // absent before it existed
                .build();
    }

    /** A set as a sorted JSON array, or {@code null} when empty (the common case, which claims test first). */
    static String stringSet(Set<String> values) {
        if (values.isEmpty()) {
            return null;
        }
        return stringList(new ArrayList<>(new TreeSet<>(values)));
    }

    static Set<String> stringSet(String json) {
        return json == null ? Set.of() : Set.copyOf(stringList(json));
    }

    static String stringList(List<String> values) {
        ArrayNode array = MAPPER.createArrayNode();
        values.forEach(array::add);
        return array.toString();
    }

    static List<String> stringList(String json) {
        if (json == null) {
            return List.of();
        }
        List<String> values = new ArrayList<>();
        read(json, "string list").forEach(value -> values.add(value.asText()));
        return values;
    }

    private static JsonNode read(String json, String what) {
        try {
            return MAPPER.readTree(json);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("the task store holds a " + what + " that is not JSON", e);
        }
    }
}
