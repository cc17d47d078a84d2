package dev.procpool.examples.bench.jmh;

import java.nio.charset.StandardCharsets;

/** Inputs shared by the micro-benchmarks: deterministic, so that every run measures the same bytes. */
final class JmhData {
    private JmhData() {
    }

    /** The 100-character string of the peer workloads' echo tasks. */
    static String payload100() {
        char[] chars = new char[100];
        for (int i = 0; i < chars.length; i++) {
            chars[i] = (char) ('a' + i % 26);
        }
        return new String(chars);
    }

    /**
     * A JSON object of about {@code bytes} bytes with what real payloads hold: nested objects and arrays, strings
     * with escapes and non-ASCII text, integers, decimals, literals.
     */
    static byte[] nestedJson(int bytes) {
        StringBuilder json = new StringBuilder("{\"items\":[");
        for (int i = 0; json.length() < bytes; i++) {
            if (i > 0) {
                json.append(',');
            }
            json.append("{\"id\":").append(i)
                    .append(",\"name\":\"item \\\"").append(i).append("\\\" – façade\\n\"")
                    .append(",\"price\":").append(i).append(".25e-1")
                    .append(",\"tags\":[\"a\",\"b\",null,true,false]")
                    .append(",\"dims\":{\"w\":").append(i % 7).append(",\"h\":-").append(i % 5).append("}}");
        }
        return json.append("]}").toString().getBytes(StandardCharsets.UTF_8);
    }
}
