package dev.procpool.core.internal.protocol;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.ObjectReader;
import com.fasterxml.jackson.databind.ObjectWriter;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.procpool.PayloadCodec;

import java.io.IOException;

/**
 * A {@link PayloadCodec} over a Jackson mapper's writer and reader, taken when the codec is made. The mapper must be
 * the codec's own (the writer and reader share its caches). Thread-safe.
 */
public final class MapperCodec implements PayloadCodec {
    private final ObjectWriter writer;
    private final ObjectReader reader;
    private final String description;

    /**
     * @param mapper      the mapper, already checked by the caller, and changed by no one afterwards
     * @param description what the codec is, for messages and {@link #toString()}
     */
    public MapperCodec(ObjectMapper mapper, String description) {
        // a payload is embedded in a one-line frame: an application mapper's pretty printing is left out here
        this.writer = mapper.writer().without(SerializationFeature.INDENT_OUTPUT);
        this.reader = mapper.reader();
        this.description = description;
    }

    @Override
    public byte[] encode(Object value) throws IOException {
        return writer.writeValueAsBytes(value);
    }

    @Override
    public <T> T decode(byte[] json, Class<T> type) throws IOException {
        return reader.readValue(json, type);
    }

    @Override
    public String toString() {
        return description;
    }
}
