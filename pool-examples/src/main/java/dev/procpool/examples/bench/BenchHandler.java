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
 *   <li>{@value #SHA_64K}: the task of the peer workload W3, SHA-256 over a fixed 64 KiB buffer N times, N being
 *       the payload (22 in W3); returns the last digest as hex. The buffer is byte {@code i} = {@code (31 i + 7) mod
 *       256}, the same in the Node.js and Python drivers, so every system computes the same digest.</li>
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
    /** Task type of the peer workload W3: hash the fixed 64 KiB buffer N times. */
    public static final String SHA_64K = "sha64k";
    /** Size of the buffer {@value #SHA_64K} hashes. */
    public static final int PEER_BUFFER_BYTES = 64 * 1024;

    private static final byte[] BUFFER = buffer();
    private static final byte[] PEER_BUFFER = peerBuffer();
    private static final ThreadLocal<MessageDigest> DIGEST = ThreadLocal.withInitial(() -> {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("the JDK has no SHA-256", e);
        }
    });

    @Override
    public Set<String> taskTypes() {
        return Set.of(ECHO, SHA, SHA_64K);
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
            case SHA_64K -> sha64k(context.payload(Integer.class));
            default -> throw new IllegalArgumentException("unknown task type " + context.taskType());
        };
    }

    /** What {@value #SHA} computes: {@code n} SHA-256 digests of the fixed buffer, the last one as hex. */
    public static String sha(int n) {
        return digests(BUFFER, n);
    }

    private static String digests(byte[] buffer, int n) {
        if (n < 1) {
            throw new IllegalArgumentException("n must be positive, was " + n);
        }
        MessageDigest digest = DIGEST.get();
        byte[] last = null;
        for (int i = 0; i < n; i++) {
            digest.update(buffer);
            last = digest.digest();
        }
        return HexFormat.of().formatHex(last);
    }

    /** What {@value #SHA_64K} computes: {@code n} SHA-256 digests of the 64 KiB buffer, the last one as hex. */
    public static String sha64k(int n) {
        return digests(PEER_BUFFER, n);
    }

    /** A 100-character ASCII payload: the "~100-byte task" of the latency workload. */
    public static String payload100() {
        char[] chars = new char[100];
        for (int i = 0; i < chars.length; i++) {
            chars[i] = (char) ('a' + i % 26);
        }
        return new String(chars);
    }

    private static byte[] peerBuffer() {
        byte[] bytes = new byte[PEER_BUFFER_BYTES];
        for (int i = 0; i < bytes.length; i++) {
            bytes[i] = (byte) (31 * i + 7);
        }
        return bytes;
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
