package dev.procpool.core.internal.process;

/**
 * Makes text a worker wrote safe to put in one of the host's log lines or messages: a worker must not be able to
 * start a forged log line (CR, LF, NEL, U+2028/U+2029), drive the terminal that shows the log (ESC and the other C0
 * and C1 controls, DEL), cut a line short for some readers (NUL), or make a line read differently from what it
 * holds (the bidirectional overrides of "Trojan Source").
 */
public final class SafeText {
    private static final char[] HEX = "0123456789abcdef".toCharArray();

    private SafeText() {
    }

    /**
     * The text with every such character written as an escape: {@code \n}, {@code \r}, {@code \xHH} for the other
     * controls, <code>&#92;uHHHH</code> above U+00FF. Tab is kept (stack traces indent with it, and it cannot forge a line).
     * A backslash is kept as it is, so an escape is recognisable but not unambiguous; the text stays readable, and
     * the result never holds a character that would be escaped, so escaping twice changes nothing.
     */
    public static String escape(CharSequence text) {
        int length = text.length();
        int first = 0;
        while (first < length && !needsEscape(text.charAt(first))) {
            first++;
        }
        if (first == length) {
            return text.toString(); // the common case: nothing to do, nothing copied
        }
        StringBuilder out = new StringBuilder(length + 16).append(text, 0, first);
        for (int i = first; i < length; i++) {
            char c = text.charAt(i);
            if (!needsEscape(c)) {
                out.append(c);
            } else if (c == '\n') {
                out.append("\\n");
            } else if (c == '\r') {
                out.append("\\r");
            } else if (c <= 0xFF) {
                out.append("\\x").append(HEX[c >> 4]).append(HEX[c & 0xF]);
            } else {
                out.append("\\u").append(HEX[c >> 12]).append(HEX[(c >> 8) & 0xF]).append(HEX[(c >> 4) & 0xF])
                        .append(HEX[c & 0xF]);
            }
        }
        return out.toString();
    }

    /**
     * As {@link #escape}, line by line: the line breaks ({@code \n}) of a multi-line text such as a stack trace are
     * kept, everything else that could forge or hide a line is escaped.
     */
    public static String escapeLines(String text) {
        if (text == null || text.indexOf('\n') < 0) {
            return text == null ? null : escape(text);
        }
        StringBuilder out = new StringBuilder(text.length() + 16);
        int start = 0;
        for (int end = text.indexOf('\n'); end >= 0; end = text.indexOf('\n', start)) {
            out.append(escape(text.substring(start, end))).append('\n');
            start = end + 1;
        }
        return out.append(escape(text.substring(start))).toString();
    }

    static boolean needsEscape(char c) {
        if (c < 0x20) {
            return c != '\t';
        }
        if (c < 0x7F) {
            return false;
        }
        if (c <= 0x9F) {
            return true; // DEL and the C1 controls, NEL (U+0085) among them
        }
        return c == '\u2028' || c == '\u2029' // line and paragraph separators
                || (c >= '\u202A' && c <= '\u202E') || (c >= '\u2066' && c <= '\u2069'); // bidi embeddings, isolates
    }
}
