package dev.procpool.examples.daemon;

import dev.procpool.examples.daemon.DaemonApi.ApiException;

import java.io.ByteArrayOutputStream;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** The text of HTTP requests as the daemon reads it: path segments, query parameters, and client text for logs. */
final class HttpText {
    private HttpText() {
    }

    /** A message for a log line: control characters (a client's bytes may be in it) escaped. */
    static String printable(String text) {
        if (text == null) {
            return "no detail";
        }
        StringBuilder out = new StringBuilder(Math.min(text.length(), 200));
        for (int i = 0; i < text.length() && out.length() < 200; i++) {
            char c = text.charAt(i);
            if (c < 0x20 || c == 0x7F) {
                out.append(String.format(Locale.ROOT, "\\x%02x", (int) c));
            } else {
                out.append(c);
            }
        }
        return out.toString();
    }

    /** The decoded segments of a raw path, without empty ones: {@code /tasks/a%2Fb} is [tasks, a/b]. */
    static List<String> pathSegments(String rawPath) {
        List<String> segments = new ArrayList<>();
        for (String raw : (rawPath == null ? "" : rawPath).split("/")) {
            if (!raw.isEmpty()) {
                segments.add(percentDecode(raw));
            }
        }
        return segments;
    }

    /** Percent-decoding of a path segment ('+' stays '+', unlike form decoding). */
    static String percentDecode(String raw) {
        if (raw.indexOf('%') < 0) {
            return raw;
        }
        ByteArrayOutputStream bytes = new ByteArrayOutputStream(raw.length());
        for (int i = 0; i < raw.length(); i++) {
            char c = raw.charAt(i);
            if (c == '%') {
                if (i + 2 >= raw.length() || Character.digit(raw.charAt(i + 1), 16) < 0
                        || Character.digit(raw.charAt(i + 2), 16) < 0) {
                    throw new ApiException(400, "bad percent-encoding in path segment \"" + raw + "\"");
                }
                bytes.write(Character.digit(raw.charAt(i + 1), 16) * 16 + Character.digit(raw.charAt(i + 2), 16));
                i += 2;
            } else {
                byte[] utf8 = String.valueOf(c).getBytes(StandardCharsets.UTF_8);
                bytes.write(utf8, 0, utf8.length);
            }
        }
        return bytes.toString(StandardCharsets.UTF_8);
    }

    /** Encodes a task id for a Location header: unreserved characters stay, everything else is %XX. */
    static String encodePathSegment(String segment) {
        StringBuilder out = new StringBuilder();
        for (byte b : segment.getBytes(StandardCharsets.UTF_8)) {
            char c = (char) (b & 0xff);
            if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || "-._~".indexOf(c) >= 0) {
                out.append(c);
            } else {
                out.append('%').append(String.format(Locale.ROOT, "%02X", b & 0xff));
            }
        }
        return out.toString();
    }

    static Map<String, String> query(String rawQuery) {
        Map<String, String> params = new LinkedHashMap<>();
        if (rawQuery == null || rawQuery.isEmpty()) {
            return params;
        }
        for (String pair : rawQuery.split("&")) {
            if (pair.isEmpty()) {
                continue;
            }
            int eq = pair.indexOf('=');
            try {
                String name = URLDecoder.decode(eq < 0 ? pair : pair.substring(0, eq), StandardCharsets.UTF_8);
                String value = eq < 0 ? "" : URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8);
                if (params.put(name, value) != null) {
                    throw new ApiException(400, "query parameter " + name + " is given twice");
                }
            } catch (IllegalArgumentException e) {
                if (e instanceof ApiException) {
                    throw e;
                }
                throw new ApiException(400, "bad percent-encoding in query \"" + pair + "\"");
            }
        }
        return params;
    }
}
