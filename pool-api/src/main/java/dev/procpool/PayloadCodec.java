package dev.procpool;

import java.io.IOException;

/**
 * Turns task payloads and results into JSON and back, with the serialization settings of the application (its
 * Jackson modules, naming strategy, date format). The pool uses one on the host
 * ({@link PoolConfig.Builder#payloadCodec(PayloadCodec)}: payloads at {@link WorkerPool#submitTask(TaskRequest)},
 * results in {@link TaskResult#as(Class)}), and a Java handler may bring its own for its side
 * ({@link TaskHandler#payloadCodec()}: {@link TaskContext#payload(Class)} and the value it returns). Without one, both
 * sides use the pool's built-in Jackson mapper: Jackson's defaults (a value with nothing to write, such as an object
 * without properties, is refused rather than sent as {@code {}}), except that unknown properties are ignored when
 * reading.
 *
 * <p>This interface names no JSON library, so that the API stays free of one; {@code pool-core} adapts a Jackson
 * {@code ObjectMapper} to it ({@code dev.procpool.core.json.JacksonPayloads.using(mapper)}). The codec only turns
 * values into bytes and back: the pool's protocol frames are always written and read by the pool itself, and whatever
 * a codec returns is checked before it is sent. {@link #encode(Object)} must return one JSON value in UTF-8 (line
 * breaks between its tokens are turned into spaces, as a frame is one line); a value that is not JSON, or breaks the
 * frame limits (PROTOCOL.md, "Limits"), is refused: at submit with {@link TaskRejectedException.Kind#INVALID_PAYLOAD},
 * in a worker as an error of the task. A codec must be thread-safe, and must not read class names from the JSON
 * (Jackson's default typing): results come from worker processes, which may be running untrusted code.
 */
public interface PayloadCodec {
    /**
     * Writes a value as JSON.
     *
     * @param value the payload or result; may be {@code null}
     * @return one JSON value, UTF-8 encoded
     * @throws IOException if the value cannot be written (the message should name its type and why)
     */
    byte[] encode(Object value) throws IOException;

    /**
     * Reads JSON as a value of the given type.
     *
     * @param <T>  the type to read
     * @param json one JSON value, UTF-8 encoded, as a worker or the host sent it
     * @param type the class of that type
     * @return the value
     * @throws IOException if the JSON does not fit the type
     */
    <T> T decode(byte[] json, Class<T> type) throws IOException;
}
