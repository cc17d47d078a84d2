package dev.procpool.core.testing;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.datatype.jdk8.Jdk8Module;
import com.fasterxml.jackson.datatype.jsr310.JavaTimeModule;
import dev.procpool.PayloadCodec;
import dev.procpool.TaskContext;
import dev.procpool.TaskHandler;
import dev.procpool.core.json.JacksonPayloads;

import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/** Handlers that bring their own Jackson mapper, and one that uses the built-in codec, for the payload-codec tests. */
public final class JsonHandlers {
    private JsonHandlers() {
    }

    /** The mapper of an application with java.time and Optional support, writing instants as ISO-8601 text. */
    public static ObjectMapper applicationMapper() {
        return JsonMapper.builder().addModule(new JavaTimeModule()).addModule(new Jdk8Module())
                .disable(SerializationFeature.WRITE_DATES_AS_TIMESTAMPS).build();
    }

    public record Meeting(String title, Instant at, Optional<String> room) {
    }

    /** Private state and no accessors: Jackson finds nothing to write. */
    public static final class Sealed {
        @SuppressWarnings("unused")
        private final String secret = "kept inside";
    }

    /** Moves a meeting by an hour and gives it a room, reading and writing with the application's mapper. */
    public static final class Scheduler implements TaskHandler {
        private static final PayloadCodec JSON = JacksonPayloads.using(applicationMapper());

        @Override
        public Set<String> taskTypes() {
            return Set.of("postpone");
        }

        @Override
        public Optional<PayloadCodec> payloadCodec() {
            return Optional.of(JSON);
        }

        @Override
        public Object handle(TaskContext context) {
            Meeting meeting = context.payload(Meeting.class);
            return new Meeting(meeting.title(), meeting.at().plus(Duration.ofHours(1)),
                    Optional.of(meeting.room().map(room -> room + "+").orElse("any")));
        }
    }

    /** Another handler of the same worker with a mapper of its own: instants as epoch seconds. */
    public static final class Stamper implements TaskHandler {
        private static final PayloadCodec JSON = JacksonPayloads.using(JsonMapper.builder()
                .addModule(new JavaTimeModule()).build());

        @Override
        public Set<String> taskTypes() {
            return Set.of("stamp");
        }

        @Override
        public Optional<PayloadCodec> payloadCodec() {
            return Optional.of(JSON);
        }

        @Override
        public Object handle(TaskContext context) {
            return Map.of("at", context.payload(Instant.class));
        }
    }

    /** The built-in codec: it knows no java.time, and finds nothing to write in {@link Sealed}. */
    public static final class Plain implements TaskHandler {
        @Override
        public Set<String> taskTypes() {
            return Set.of("echo-json", "sealed", "now");
        }

        @Override
        public Object handle(TaskContext context) {
            return switch (context.taskType()) {
                case "sealed" -> new Sealed();
                case "now" -> Instant.EPOCH;
                default -> context.payload(Object.class);
            };
        }
    }
}
