package dev.procpool.core.json;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.databind.JavaType;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.procpool.PayloadCodec;
import dev.procpool.core.internal.protocol.MapperCodec;

import java.util.Objects;

/**
 * Payload codecs made from the Jackson mapper of an application, so that tasks carry what that mapper writes (an
 * {@code Instant} or an {@code Optional} with its modules, its naming strategy and date format): give the codec to the
 * pool with {@code PoolConfig.Builder.payloadCodec(...)}, and to a Java handler through
 * {@code TaskHandler.payloadCodec()}.
 *
 * <pre>{@code
 * ObjectMapper mapper = JsonMapper.builder().addModule(new JavaTimeModule()).addModule(new Jdk8Module()).build();
 * WorkerPool pool = WorkerPool.builder().payloadCodec(JacksonPayloads.using(mapper)) ... .start();
 * }</pre>
 *
 * <p>Why a codec and not the mapper itself: the API module names no JSON library, and the pool's own frames never go
 * through an application's mapper, whose settings (a pretty printer, another data format, lower read limits) would
 * break the protocol.
 */
public final class JacksonPayloads {
    private JacksonPayloads() {
    }

    /**
     * A codec that writes and reads payloads and results with this mapper, as it is configured now: the codec works
     * on a copy ({@link ObjectMapper#copy()}), so later changes to the mapper do not reach it. (A subclass of
     * {@code ObjectMapper} that cannot be copied is used itself; do not change it afterwards.) Pretty printing is left
     * out, as a payload travels in one line; everything else is the mapper's, including {@code FAIL_ON_EMPTY_BEANS}
     * (on by default: a value with nothing to write is refused rather than sent as {@code {}}) and
     * {@code FAIL_ON_UNKNOWN_PROPERTIES}.
     *
     * @param mapper the application's mapper; it must write JSON and have default typing off
     * @return the codec
     * @throws IllegalArgumentException if the mapper writes another format than JSON, or has default typing enabled:
     *                                  results come from worker processes, which may run untrusted code, and must
     *                                  never name the classes the host creates. Polymorphic types the application
     *                                  declares itself ({@code @JsonTypeInfo} with named subtypes) are not affected
     */
    public static PayloadCodec using(ObjectMapper mapper) {
        Objects.requireNonNull(mapper, "mapper");
        String name = mapper.getClass().getName();
        try {
            // Own configuration and caches: a writer or reader of the mapper itself would share its serializer
            // caches, where what the mapper makes after a later activateDefaultTyping() would be found.
            mapper = mapper.copy();
        } catch (IllegalStateException e) {
            // a subclass without copy(): used as it is (said in the Javadoc)
        }
        String format = mapper.getFactory().getFormatName();
        if (!JsonFactory.FORMAT_NAME_JSON.equals(format)) {
            throw new IllegalArgumentException("the payload mapper must write JSON, the protocol's format; this "
                    + name + " writes " + format);
        }
        JavaType anyValue = mapper.constructType(Object.class);
        if (mapper.getSerializationConfig().getDefaultTyper(anyValue) != null
                || mapper.getDeserializationConfig().getDefaultTyper(anyValue) != null) {
            throw new IllegalArgumentException("the payload mapper has default typing enabled (activateDefaultTyping "
                    + "or setDefaultTyping), which reads class names from the JSON; results come from worker "
                    + "processes, so the pool refuses it: give the pool a mapper without default typing, such as "
                    + "mapper.copy().deactivateDefaultTyping()");
        }
        return new MapperCodec(mapper, "JacksonPayloads.using(" + name + ")");
    }
}
