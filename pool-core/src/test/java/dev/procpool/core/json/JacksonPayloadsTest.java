package dev.procpool.core.json;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.jsontype.impl.LaissezFaireSubTypeValidator;
import com.fasterxml.jackson.datatype.jdk8.Jdk8Module;
import com.fasterxml.jackson.datatype.jsr310.JavaTimeModule;
import dev.procpool.PayloadCodec;
import dev.procpool.core.internal.protocol.FrameCodec;
import dev.procpool.core.internal.protocol.Payloads;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The seam between an application's Jackson mapper and the pool's payloads. */
class JacksonPayloadsTest {

    public record Meeting(String title, Instant at, Optional<String> room) {
    }

    /** Private state and no accessors: Jackson finds nothing to write. */
    public static final class Sealed {
        @SuppressWarnings("unused")
        private final String secret = "kept inside";
    }

    private static ObjectMapper applicationMapper() {
        return JsonMapper.builder().addModule(new JavaTimeModule()).addModule(new Jdk8Module()).build();
    }

    private static String text(byte[] json) {
        return new String(json, StandardCharsets.UTF_8);
    }

    @Test
    void theApplicationsMapperCarriesInstantsAndOptionalsBothWays() throws Exception {
        PayloadCodec codec = JacksonPayloads.using(applicationMapper());
        Meeting meeting = new Meeting("review", Instant.parse("2030-01-02T03:04:05.123456789Z"), Optional.of("B2"));

        byte[] json = codec.encode(meeting);
        new FrameCodec().checkValue(json); // it travels in a frame as it is
        assertEquals(meeting, codec.decode(json, Meeting.class));
        assertEquals(new Meeting("review", meeting.at(), Optional.empty()),
                codec.decode(codec.encode(new Meeting("review", meeting.at(), Optional.empty())), Meeting.class));
    }

    @Test
    void theBuiltInMapperRefusesWhatItCannotWriteInsteadOfSendingAnEmptyObject() {
        IOException emptyBean = assertThrows(IOException.class, () -> Payloads.BUILT_IN.encode(new Sealed()));
        assertTrue(emptyBean.getMessage().contains(Sealed.class.getName()), emptyBean.getMessage());

        IOException instant = assertThrows(IOException.class, () -> Payloads.BUILT_IN.encode(Instant.EPOCH));
        assertTrue(instant.getMessage().contains("jackson-datatype-jsr310"), instant.getMessage());
    }

    @Test
    void anApplicationMapperAlsoRefusesEmptyBeansUnlessItSaysOtherwise() throws IOException {
        PayloadCodec strict = JacksonPayloads.using(applicationMapper());
        assertThrows(IOException.class, () -> strict.encode(new Sealed()));

        PayloadCodec lenient = JacksonPayloads.using(JsonMapper.builder()
                .disable(SerializationFeature.FAIL_ON_EMPTY_BEANS).build());
        assertEquals("{}", text(lenient.encode(new Sealed())), "the application chose to send {}");
    }

    @Test
    void aMapperWithDefaultTypingIsRefusedSayingWhy() {
        ObjectMapper typed = JsonMapper.builder()
                .activateDefaultTyping(LaissezFaireSubTypeValidator.instance, ObjectMapper.DefaultTyping.NON_FINAL)
                .build();
        IllegalArgumentException refused = assertThrows(IllegalArgumentException.class,
                () -> JacksonPayloads.using(typed));
        assertTrue(refused.getMessage().contains("default typing"), refused.getMessage());
    }

    @Test
    void aMapperThatWritesAnotherFormatIsRefused() {
        JsonFactory yamlLike = new JsonFactory() {
            @Override
            public String getFormatName() {
                return "YAML";
            }
        };
        IllegalArgumentException refused = assertThrows(IllegalArgumentException.class,
                () -> JacksonPayloads.using(new ObjectMapper(yamlLike)));
        assertTrue(refused.getMessage().contains("must write JSON") && refused.getMessage().contains("YAML"),
                refused.getMessage());
    }

    @Test
    void aNullMapperIsRefusedByName() {
        NullPointerException refused = assertThrows(NullPointerException.class, () -> JacksonPayloads.using(null));
        assertEquals("mapper", refused.getMessage());
    }

    @Test
    void thePrettyPrintingOfAnApplicationMapperIsLeftOut() throws IOException {
        PayloadCodec codec = JacksonPayloads.using(JsonMapper.builder()
                .enable(SerializationFeature.INDENT_OUTPUT).build());
        String json = text(codec.encode(Map.of("list", List.of(1, 2), "nested", Map.of("a", "b"))));
        assertFalse(json.contains("\n") || json.contains("\r"), json);
    }

    @Test
    void whatIsDoneToTheMapperAfterwardsDoesNotReachTheCodec() throws IOException {
        ObjectMapper mapper = applicationMapper();
        PayloadCodec codec = JacksonPayloads.using(mapper);
        mapper.activateDefaultTyping(LaissezFaireSubTypeValidator.instance, ObjectMapper.DefaultTyping.EVERYTHING);
        mapper.enable(SerializationFeature.INDENT_OUTPUT);
        // the mapper itself now writes and reads type ids, and caches what it made for them
        assertTrue(mapper.writeValueAsString(Map.of("n", 1)).contains("java.util"));
        assertEquals(java.util.HashSet.class, mapper.readValue("[\"java.util.HashSet\",[1]]", Object.class).getClass());

        assertEquals("{\"n\":1}", text(codec.encode(Map.of("n", 1))), "no type ids, one line");
        // a class name in the JSON is data, not an instruction
        Object read = codec.decode("[\"java.util.HashSet\",[1]]".getBytes(StandardCharsets.UTF_8), Object.class);
        assertEquals(List.of("java.util.HashSet", List.of(1)), read);
    }
}
