package dev.procpool.core.internal.protocol;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.ObjectWriter;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.procpool.PayloadCodec;

import java.io.IOException;

/**
 * A {@link PayloadCodec} over a Jackson mapper that is the codec's own: no one changes it afterwards (its writer and
 * readers share its caches, so a change would reach them). Thread-safe.
 */
public final class MapperCodec implements PayloadCodec {
    private final ObjectWriter writer;
    private final ObjectMapper mapper;
    private final String description;

    /**
     * @param mapper      the mapper, already checked by the caller, and changed by no one afterwards
     * @param description what the codec is, for messages and {@link #toString()}
     */
    public MapperCodec(ObjectMapper mapper, String description) {
        // a payload is embedded in a one-line frame: an application mapper's pretty printing is left out here
        this.writer = mapper.writer().without(SerializationFeature.INDENT_OUTPUT);
        // reading with the mapper itself is the call the pool made before codecs; a reader would make an
        // ObjectReader per call for the type
        this.mapper = mapper;
        this.description = description;
    }

    @Override
    public byte[] encode(Object value) throws IOException {
        return writer.writeValueAsBytes(value);
    }

    @Override
    public <T> T decode(byte[] json, Class<T> type) throws IOException {
        return mapper.readValue(json, type);
    }

    @Override
    public String toString() {
        return description;
    }
}
