package dev.procpool.examples.bench;

import dev.procpool.TaskContext;
import dev.procpool.TaskHandler;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.Map;
import java.util.Set;

/**
 * The benchmark's worker-side handler, also called directly by the in-process baselines so that every contender
 * does the same work.
 *
 * <ul>
 *   <li>{@value #ECHO}: returns its payload unchanged (the benchmark sends a 100-character string, or a small
 *       number for the throughput workload).</li>
 *   <li>{@value #SHA}: SHA-256 over a fixed {@value #BUFFER_BYTES}-byte buffer N times, N being the payload (a
 *       number); returns {@code {"digest": the last digest as hex, "nanos": the time the hashing took}}, so that the
 *       harness can tell the work from the pool's overhead. The harness calibrates N so that one task costs about
 *       1 ms.</li>
 * </ul>
 *
 * <p>Stateless apart from a per-thread digest, so safe with any per-worker concurrency.
 */
public final class BenchHandler implements TaskHandler {
    /** Task type: return the payload. */
    public static final String ECHO = "echo";
    /** Task type: hash the fixed buffer N times. */
    public static final String SHA = "sha";
    /** Size of the buffer {@value #SHA} hashes. */
    public static final int BUFFER_BYTES = 4096;

    private static final byte[] BUFFER = buffer();
    private static final ThreadLocal<MessageDigest> DIGEST = ThreadLocal.withInitial(() -> {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("the JDK has no SHA-256", e);
        }
    });

    @Override
    public Set<String> taskTypes() {
        return Set.of(ECHO, SHA);
    }

    @Override
    public Object handle(TaskContext context) {
        return switch (context.taskType()) {
            case ECHO -> context.payload(Object.class);
            case SHA -> {
                int rounds = context.payload(Integer.class);
                long start = System.nanoTime();
                String digest = sha(rounds);
                yield Map.of("digest", digest, "nanos", System.nanoTime() - start);
            }
            default -> throw new IllegalArgumentException("unknown task type " + context.taskType());
        };
    }

    /** What {@value #SHA} computes: {@code n} SHA-256 digests of the fixed buffer, the last one as hex. */
    public static String sha(int n) {
        if (n < 1) {
            throw new IllegalArgumentException("n must be positive, was " + n);
        }
        MessageDigest digest = DIGEST.get();
        byte[] last = null;
        for (int i = 0; i < n; i++) {
            digest.update(BUFFER);
            last = digest.digest();
        }
        return HexFormat.of().formatHex(last);
    }

    /** A 100-character ASCII payload: the "~100-byte task" of the latency workload. */
    public static String payload100() {
        char[] chars = new char[100];
        for (int i = 0; i < chars.length; i++) {
            chars[i] = (char) ('a' + i % 26);
        }
        return new String(chars);
    }

    private static byte[] buffer() {
        byte[] bytes = new byte[BUFFER_BYTES];
        Arrays.fill(bytes, (byte) 0x5a);
        for (int i = 0; i < bytes.length; i += 7) {
            bytes[i] = (byte) i;
        }
        return bytes;
    }
}
