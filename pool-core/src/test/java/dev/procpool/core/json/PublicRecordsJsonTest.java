package dev.procpool.core.json;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.datatype.jsr310.JavaTimeModule;
import dev.procpool.AttemptRecord;
import dev.procpool.BatchResult;
import dev.procpool.DeadLetter;
import dev.procpool.FailureReason;
import dev.procpool.ItemBatch;
import dev.procpool.PoolConfig;
import dev.procpool.PoolEvent;
import dev.procpool.PoolHealth;
import dev.procpool.PoolSnapshot;
import dev.procpool.RemoteError;
import dev.procpool.TaskInfo;
import dev.procpool.TaskProgress;
import dev.procpool.TaskResult;
import dev.procpool.WorkerGroup;
import dev.procpool.WorkerPool;
import dev.procpool.WorkerSnapshot;
import dev.procpool.WorkerSpec;
import dev.procpool.core.testing.JsonHandlers;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.lang.reflect.ParameterizedType;
import java.lang.reflect.RecordComponent;
import java.lang.reflect.Type;
import java.math.BigDecimal;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.jar.JarFile;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every public record of the API (snapshots, health, dead letters and their attempts, progress, task info, every
 * event) is written by a Jackson mapper with {@code JavaTimeModule}, the one module the README asks for, as JSON whose
 * members are the record's components with sensible values: instants and durations as seconds (the module's default)
 * or ISO-8601 text (with {@code WRITE_DATES_AS_TIMESTAMPS} and {@code WRITE_DURATIONS_AS_TIMESTAMPS} off, as Spring
 * Boot sets them). It reads back into an equal record. The records without a time member need no module at all.
 */
class PublicRecordsJsonTest {
    private static final Instant AT = Instant.parse("2030-01-02T03:04:05.123456789Z");
    private static final Duration TOOK = Duration.ofMillis(1_040);

    /** Public records of the API that are not values to write: why each is left out. */
    private static final Map<Class<?>, String> NOT_VALUES = Map.of(
            WorkerSpec.Java.class, "configuration, not a snapshot",
            WorkerSpec.Command.class, "configuration, not a snapshot",
            WorkerSpec.InProcess.class, "configuration, not a snapshot",
            BatchResult.class, "holds the caller's requests and exceptions; write outcome.result()",
            BatchResult.Outcome.class, "holds the caller's request and an exception; write result()",
            ItemBatch.Result.class, "holds the caller's items and exceptions",
            ItemBatch.ItemOutcome.class, "holds the caller's item and an exception");

    private static final ObjectMapper SECONDS = JsonMapper.builder().addModule(new JavaTimeModule()).build();
    private static final ObjectMapper ISO = JsonMapper.builder().addModule(new JavaTimeModule())
            .disable(SerializationFeature.WRITE_DATES_AS_TIMESTAMPS)
            .disable(SerializationFeature.WRITE_DURATIONS_AS_TIMESTAMPS).build();
    private static final ObjectMapper PLAIN = new ObjectMapper();

    @Test
    void everyPublicRecordIsCoveredOrSaysWhyNot() throws Exception {
        Set<String> missing = new TreeSet<>();
        for (Class<?> type : publicRecordsOfTheApi()) {
            if (!NOT_VALUES.containsKey(type) && !values().containsKey(type)) {
                missing.add(type.getName());
            }
        }
        assertEquals(Set.of(), missing, "records with no JSON check: add a sample or a reason");
        assertEquals(PoolEvent.class.getPermittedSubclasses().length,
                values().keySet().stream().filter(PoolEvent.class::isAssignableFrom).count(), "every event");
    }

    @Test
    void withJavaTimeModuleEveryRecordIsWrittenWithSensibleValuesAndReadsBack() throws IOException {
        for (Object value : values().values()) {
            for (ObjectMapper mapper : List.of(SECONDS, ISO)) {
                String json = mapper.writeValueAsString(value);
                checkMembers(value, tree(json), mapper == ISO, value.getClass().getSimpleName());
                assertEquals(value, mapper.readValue(json, value.getClass()), json);
            }
        }
    }

    @Test
    void recordsWithoutTimeMembersNeedNoModule() throws IOException {
        for (Object value : values().values()) {
            if (mentionsTime(value.getClass())) {
                assertThrows(IOException.class, () -> PLAIN.writeValueAsString(value),
                        "the README says it needs JavaTimeModule: " + value.getClass());
            } else {
                String json = PLAIN.writeValueAsString(value);
                checkMembers(value, tree(json), false, value.getClass().getSimpleName());
                assertEquals(value, PLAIN.readValue(json, value.getClass()), json);
            }
        }
    }

    @Test
    void theSnapshotsOfARunningPoolAndATaskResultAreWrittenToo() throws IOException {
        try (WorkerPool pool = WorkerPool.builder().name("records").group(WorkerGroup.builder(
                PoolConfig.DEFAULT_GROUP, WorkerSpec.inProcess(JsonHandlers.Plain.class)).workers(1).build()).start()) {
            TaskResult result = pool.submitTask("echo-json", Map.of("n", 1.5)).await(Duration.ofSeconds(10));
            JsonNode snapshot = PLAIN.readTree(PLAIN.writeValueAsString(pool.snapshot()));
            assertEquals("records", snapshot.at("/pool/name").asText());
            assertEquals(1, snapshot.at("/tasks/completed").asLong());
            assertEquals("HEALTHY", snapshot.at("/health/status").asText());
            JsonNode workers = PLAIN.readTree(PLAIN.writeValueAsString(pool.workers()));
            assertEquals(result.workerId(), workers.get(0).get("id").asText());

            JsonNode written = ISO.readTree(ISO.writeValueAsString(result));
            assertEquals(Set.of("taskId", "taskType", "result", "workerId", "workerPid", "attempt", "queueTime",
                    "runTime", "output"), names(written));
            assertEquals(new BigDecimal("1.5"), written.at("/result/n").decimalValue(), "the result as JSON itself");
            assertEquals(result.runTime().toString(), written.get("runTime").asText());
            assertEquals(result.workerPid(), written.get("workerPid").asLong());
        }
    }

    // ---------------------------------------------------------------- the samples

    /** One sample of each record, made from its components' types, so a new component gets a value by itself. */
    private static Map<Class<?>, Object> values() {
        Map<Class<?>, Object> values = new java.util.LinkedHashMap<>();
        for (Class<?> type : List.of(PoolSnapshot.class, WorkerSnapshot.class, PoolHealth.class, DeadLetter.class,
                AttemptRecord.class, RemoteError.class, TaskProgress.class, TaskInfo.class)) {
            values.put(type, sample(type));
        }
        for (Class<?> event : PoolEvent.class.getPermittedSubclasses()) {
            values.put(event, sample(event));
        }
        // the nested records of the snapshot
        for (Class<?> nested : PoolSnapshot.class.getDeclaredClasses()) {
            if (nested.isRecord()) {
                values.put(nested, sample(nested));
            }
        }
        return values;
    }

    private static Object sample(Type type) {
        if (type instanceof ParameterizedType generic) {
            Class<?> raw = (Class<?>) generic.getRawType();
            Type[] args = generic.getActualTypeArguments();
            if (raw == List.class) {
                return List.of(sample(args[0]), sample(args[0]));
            }
            if (raw == Map.class) {
                @SuppressWarnings({"unchecked", "rawtypes"})
                Map<Object, Object> map = new EnumMap((Class) args[0]);
                map.put(sample(args[0]), sample(args[1]));
                return map;
            }
            throw new AssertionError("no sample for " + type);
        }
        Class<?> raw = (Class<?>) type;
        if (raw == String.class) {
            return "text";
        } else if (raw == int.class || raw == Integer.class) {
            return 3;
        } else if (raw == long.class || raw == Long.class) {
            return 12_345_678_901L;
        } else if (raw == double.class) {
            return 0.25;
        } else if (raw == boolean.class) {
            return true;
        } else if (raw == Instant.class) {
            return AT;
        } else if (raw == Duration.class) {
            return TOOK;
        } else if (raw.isEnum()) {
            Object[] constants = raw.getEnumConstants();
            return constants[constants.length - 1];
        } else if (raw.isRecord()) {
            RecordComponent[] components = raw.getRecordComponents();
            Object[] args = new Object[components.length];
            Class<?>[] types = new Class<?>[components.length];
            for (int i = 0; i < components.length; i++) {
                args[i] = sample(components[i].getGenericType());
                types[i] = components[i].getType();
            }
            try {
                return raw.getDeclaredConstructor(types).newInstance(args);
            } catch (ReflectiveOperationException e) {
                throw new AssertionError("cannot make a " + raw.getName(), e);
            }
        }
        throw new AssertionError("no sample for " + type);
    }

    // ---------------------------------------------------------------- the checks

    /** Each component is a member, with the value a reader expects; time as seconds or as ISO-8601 text. */
    private static void checkMembers(Object value, JsonNode node, boolean iso, String where) {
        if (value instanceof Instant instant) {
            if (iso) {
                assertEquals(instant.toString(), node.asText(), where);
            } else {
                assertTrue(node.isNumber(), where + ": " + node);
                assertEquals(new BigDecimal(instant.getEpochSecond() + "." + String.format("%09d", instant.getNano())),
                        node.decimalValue(), where);
            }
        } else if (value instanceof Duration duration) {
            if (iso) {
                assertEquals(duration.toString(), node.asText(), where);
            } else {
                assertTrue(node.isNumber(), where + ": " + node);
                assertEquals(0, BigDecimal.valueOf(duration.toNanos(), 9).compareTo(node.decimalValue()), where);
            }
        } else if (value != null && value.getClass().isRecord()) {
            RecordComponent[] components = value.getClass().getRecordComponents();
            Set<String> expected = new TreeSet<>();
            for (RecordComponent component : components) {
                expected.add(component.getName());
                JsonNode member = node.get(component.getName());
                assertNotNull(member, where + " has no member " + component.getName() + ": " + node);
                try {
                    checkMembers(component.getAccessor().invoke(value), member, iso, where + "." + component.getName());
                } catch (ReflectiveOperationException e) {
                    throw new AssertionError(e);
                }
            }
            assertEquals(expected, names(node), where + ": only the components");
        } else if (value instanceof List<?> list) {
            assertEquals(list.size(), node.size(), where);
            for (int i = 0; i < list.size(); i++) {
                checkMembers(list.get(i), node.get(i), iso, where + "[" + i + "]");
            }
        } else {
            try {
                assertEquals(tree(PLAIN.writeValueAsString(value)), node, where);
            } catch (IOException e) {
                throw new AssertionError(where, e);
            }
        }
    }

    /** The JSON as a tree, its numbers exact (a double would lose an instant's nanoseconds). */
    private static JsonNode tree(String json) throws IOException {
        return PLAIN.reader().with(DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS).readTree(json);
    }

    private static Set<String> names(JsonNode node) {
        Set<String> names = new TreeSet<>();
        node.fieldNames().forEachRemaining(names::add);
        return names;
    }

    private static boolean mentionsTime(Class<?> type) {
        for (RecordComponent component : type.getRecordComponents()) {
            Class<?> raw = component.getType();
            if (raw == Instant.class || raw == Duration.class) {
                return true;
            }
            if (component.getGenericType() instanceof ParameterizedType generic) {
                for (Type arg : generic.getActualTypeArguments()) {
                    if (arg instanceof Class<?> c && c.isRecord() && mentionsTime(c)) {
                        return true;
                    }
                }
            }
            if (raw.isRecord() && mentionsTime(raw)) {
                return true;
            }
        }
        return false;
    }

    /** The public records of pool-api, found in its jar or classes folder. */
    private static List<Class<?>> publicRecordsOfTheApi() throws IOException, URISyntaxException,
            ClassNotFoundException {
        Path location = Path.of(PoolSnapshot.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        List<String> names = new ArrayList<>();
        if (Files.isDirectory(location)) {
            try (Stream<Path> files = Files.walk(location)) {
                files.map(location::relativize).map(Path::toString).forEach(names::add);
            }
        } else {
            try (JarFile jar = new JarFile(location.toFile())) {
                jar.stream().map(java.util.zip.ZipEntry::getName).forEach(names::add);
            }
        }
        List<Class<?>> records = new ArrayList<>();
        for (String name : names) {
            if (name.endsWith(".class") && !name.endsWith("module-info.class") && !name.endsWith("package-info.class")) {
                Class<?> type = Class.forName(name.substring(0, name.length() - 6).replace('/', '.'));
                if (type.isRecord() && java.lang.reflect.Modifier.isPublic(type.getModifiers())) {
                    records.add(type);
                }
            }
        }
        assertFalse(records.isEmpty(), "no records found in " + location);
        return records;
    }
}
