package dev.procpool.core.internal.protocol;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * A strict, allocation-light JSON reader over one line of UTF-8 bytes, for the members of a frame. It reads
 * strings, whole numbers and literals in place and skips any other value while checking that it is valid JSON
 * (RFC 8259: no comments, no single quotes, no leading zeros, no unescaped control characters, well-formed UTF-8),
 * iteratively, so that deep nesting costs no stack. Nesting depth, the digits of a number and the lengths of strings
 * and member names are bounded by {@link FrameLimits}, as Jackson bounds them, so such values read with the payload
 * mapper too.
 *
 * <p>Frames are decoded once per task on both sides of the pipe; building a Jackson parser for each costs more than
 * the frame itself. Not thread-safe: one instance reads one line.
 */
final class JsonScanner {
    /** Thrown for anything that is not valid JSON; carries no stack trace, it is an expected outcome. */
    static final class MalformedJsonException extends Exception {
        MalformedJsonException(String why) {
            super(why, null, false, false);
        }
    }

    private byte[] in;
    /** The text is {@code in[0, end)}. */
    private int end;
    private final int maxDepth;
    private final int maxNumberLength;
    private final int maxStringBytes;
    private final int maxNameBytes;
    /** Containers opened with {@link #open} around the values being read: they count toward the nesting limit. */
    private int outerDepth;
    private int pos;
    /** Open containers while skipping: true for an object. Made and grown on demand (most values are flat). */
    private boolean[] containers;

    JsonScanner(byte[] in, FrameLimits limits) {
        this(in, in.length, limits);
    }

    JsonScanner(byte[] in, int length, FrameLimits limits) {
        this.maxDepth = limits.maxNestingDepth();
        this.maxNumberLength = limits.maxNumberLength();
        this.maxStringBytes = limits.maxStringBytes();
        this.maxNameBytes = limits.maxNameBytes();
        reset(in, length);
    }

    /** Starts over on the text {@code in[0, length)}, with the same limits: one scanner reads line after line. */
    void reset(byte[] in, int length) {
        this.in = in;
        this.end = length;
        this.outerDepth = 0;
        this.pos = 0;
        // A UTF-8 byte order mark is allowed before the text, as JSON parsers allow it.
        if (length >= 3 && in[0] == (byte) 0xEF && in[1] == (byte) 0xBB && in[2] == (byte) 0xBF) {
            pos = 3;
        }
    }

    int position() {
        return pos;
    }

    /** Skips whitespace and returns the next byte without consuming it, or -1 at the end. */
    int peek() {
        while (pos < end) {
            byte b = in[pos];
            if (b != ' ' && b != '\t' && b != '\n' && b != '\r') {
                return b & 0xFF;
            }
            pos++;
        }
        return -1;
    }

    /** Consumes {@code expected} after optional whitespace. */
    void expect(char expected) throws MalformedJsonException {
        if (peek() != expected) {
            throw malformed("expected '" + expected + "'");
        }
        pos++;
    }

    /** Consumes the opening {@code bracket} of a container the caller reads itself; it counts toward the nesting. */
    void open(char bracket) throws MalformedJsonException {
        expect(bracket);
        if (++outerDepth > maxDepth) {
            throw tooDeep();
        }
    }

    /** Consumes the closing {@code bracket} of a container opened with {@link #open}. */
    void close(char bracket) throws MalformedJsonException {
        expect(bracket);
        outerDepth--;
    }

    /** The values read next sit inside this many containers (a value checked alone, for a frame): they count too. */
    void enclosedIn(int containers) {
        outerDepth = containers;
    }

    /**
     * Skips the next value without checking it, keeping track only of strings and brackets, up to the {@code ,} or
     * closing bracket that ends it, or the end of the line. For reading what can still be read of a broken frame.
     */
    void skipLeniently() {
        int depth = 0;
        while (pos < end) {
            byte b = in[pos];
            if (b == '"') {
                pos++;
                while (pos < end && in[pos] != '"') {
                    pos += in[pos] == '\\' ? 2 : 1;
                }
                pos = Math.min(end, pos + 1);
                continue;
            }
            if (b == '{' || b == '[') {
                depth++;
            } else if (b == '}' || b == ']') {
                if (depth == 0) {
                    return;
                }
                depth--;
            } else if (b == ',' && depth == 0) {
                return;
            }
            pos++;
        }
    }

    /** Consumes {@code c} after optional whitespace if it is next; returns whether it was. */
    boolean consume(char c) {
        if (peek() == c) {
            pos++;
            return true;
        }
        return false;
    }

    /** Reads a string value (the next token must be one) and returns it unescaped. */
    String readString() throws MalformedJsonException {
        if (peek() != '"') {
            throw malformed("expected a string");
        }
        int start = ++pos;
        boolean ascii = true;
        while (true) {
            if (pos >= end) {
                throw malformed("unterminated string");
            }
            int b = in[pos] & 0xFF;
            if (b == '"') {
                checkLength(start, pos, maxStringBytes, "string");
                String text = new String(in, start, pos - start,
                        ascii ? StandardCharsets.ISO_8859_1 : StandardCharsets.UTF_8);
                pos++;
                return text;
            } else if (b == '\\') {
                String text = readEscapedString(start);
                checkLength(start, pos - 1, maxStringBytes, "string");
                return text;
            } else if (b < 0x20) {
                throw malformed("control character in a string");
            } else if (b >= 0x80) {
                ascii = false;
                pos = checkUtf8(pos);
            } else {
                pos++;
            }
        }
    }

    /**
     * Reads a member name (the next token must be a string) and returns its index in {@code names}, or -1 if it is
     * none of them. Names without escapes, the usual case, are compared as bytes: no string is made.
     */
    int readMember(byte[][] names) throws MalformedJsonException {
        if (peek() != '"') {
            throw malformed("expected a member name");
        }
        int start = pos + 1;
        int at = start;
        while (at < end && in[at] != '"' && in[at] != '\\' && in[at] >= 0x20) {
            at++; // bytes above 0x7F are negative and stop here too, for the checked path below
        }
        if (at < end && in[at] == '"') {
            checkLength(start, at, maxNameBytes, "member name");
            pos = at + 1;
            int length = at - start;
            for (int i = 0; i < names.length; i++) {
                if (names[i].length == length && Arrays.equals(in, start, at, names[i], 0, length)) {
                    return i;
                }
            }
            return -1;
        }
        pos = start - 1;
        skipString(maxNameBytes, "member name"); // escapes or non-ASCII (rare): checked, then read
        pos = start - 1;
        byte[] name = readString().getBytes(StandardCharsets.UTF_8);
        for (int i = 0; i < names.length; i++) {
            if (Arrays.equals(name, names[i])) {
                return i;
            }
        }
        return -1;
    }

    /**
     * If the next value is a string spelled exactly as one of {@code names} (which hold no quote or backslash),
     * consumes it and returns its index; else returns -1 and consumes nothing, for the caller to read it otherwise.
     */
    int readKnownString(byte[][] names) {
        if (peek() != '"') {
            return -1;
        }
        int start = pos + 1;
        for (int i = 0; i < names.length; i++) {
            int close = start + names[i].length;
            if (close < end && in[close] == '"' && Arrays.equals(in, start, close, names[i], 0, names[i].length)) {
                pos = close + 1;
                return i;
            }
        }
        return -1;
    }

    /** The slow path of {@link #readString()}: from the first backslash on. */
    private String readEscapedString(int start) throws MalformedJsonException {
        StringBuilder text = new StringBuilder(pos - start + 16);
        text.append(new String(in, start, pos - start, StandardCharsets.UTF_8));
        stringRest(text);
        return text.toString();
    }

    /** Reads the rest of a string up to and including its closing quote, appending it to {@code text} if given. */
    private void stringRest(StringBuilder text) throws MalformedJsonException {
        while (true) {
            if (pos >= end) {
                throw malformed("unterminated string");
            }
            int b = in[pos] & 0xFF;
            if (b == '"') {
                pos++;
                return;
            } else if (b == '\\') {
                char c = readEscape();
                if (text != null) {
                    text.append(c);
                }
            } else if (b < 0x20) {
                throw malformed("control character in a string");
            } else if (b >= 0x80) {
                int end = checkUtf8(pos);
                if (text != null) {
                    text.append(new String(in, pos, end - pos, StandardCharsets.UTF_8));
                }
                pos = end;
            } else {
                if (text != null) {
                    text.append((char) b);
                }
                pos++;
            }
        }
    }

    /** Reads the escape at {@code pos} (a backslash) and returns the character it stands for. */
    private char readEscape() throws MalformedJsonException {
        if (pos + 1 >= end) {
            throw malformed("unterminated escape");
        }
        byte kind = in[pos + 1];
        pos += 2;
        return switch (kind) {
            case '"' -> '"';
            case '\\' -> '\\';
            case '/' -> '/';
            case 'b' -> '\b';
            case 'f' -> '\f';
            case 'n' -> '\n';
            case 'r' -> '\r';
            case 't' -> '\t';
            case 'u' -> {
                if (pos + 4 > end) {
                    throw malformed("short \\u escape");
                }
                int value = 0;
                for (int i = 0; i < 4; i++) {
                    int digit = Character.digit(in[pos + i], 16);
                    if (digit < 0) {
                        throw malformed("bad \\u escape");
                    }
                    value = value * 16 + digit;
                }
                pos += 4;
                yield (char) value;
            }
            default -> throw malformed("unknown escape");
        };
    }

    /** Checks the UTF-8 sequence starting at {@code at} and returns the index after it. */
    private int checkUtf8(int at) throws MalformedJsonException {
        int b = in[at] & 0xFF;
        int length;
        int low = 0x80;
        int high = 0xBF;
        if (b >= 0xC2 && b <= 0xDF) {
            length = 2;
        } else if (b >= 0xE0 && b <= 0xEF) {
            length = 3;
            if (b == 0xE0) {
                low = 0xA0; // no overlong forms
            } else if (b == 0xED) {
                high = 0x9F; // no surrogates
            }
        } else if (b >= 0xF0 && b <= 0xF4) {
            length = 4;
            if (b == 0xF0) {
                low = 0x90;
            } else if (b == 0xF4) {
                high = 0x8F; // nothing above U+10FFFF
            }
        } else {
            throw malformed("invalid UTF-8");
        }
        if (at + length > end) {
            throw malformed("truncated UTF-8");
        }
        int second = in[at + 1] & 0xFF;
        if (second < low || second > high) {
            throw malformed("invalid UTF-8");
        }
        for (int i = 2; i < length; i++) {
            int next = in[at + i] & 0xFF;
            if (next < 0x80 || next > 0xBF) {
                throw malformed("invalid UTF-8");
            }
        }
        return at + length;
    }

    /** Skips a string (at its opening quote), checking that it is at most {@code maxBytes} long as written. */
    private void skipString(int maxBytes, String what) throws MalformedJsonException {
        int start = ++pos; // after the opening quote
        stringRest(null);
        checkLength(start, pos - 1, maxBytes, what);
    }

    /** Fails if the text {@code [start, end)} between a string's quotes is longer than {@code maxBytes}. */
    private void checkLength(int start, int end, int maxBytes, String what) throws MalformedJsonException {
        if (end - start > maxBytes) {
            pos = start - 1; // the error names where the string starts
            throw malformed("a " + what + " of " + (end - start) + " bytes, over the limit of " + maxBytes);
        }
    }

    /** Whether the next token is a number. */
    boolean atNumber() {
        int c = peek();
        return c == '-' || (c >= '0' && c <= '9');
    }

    /**
     * Reads a number token; returns whether it is a whole number (no fraction or exponent). The token's text is
     * {@code [start, position())} with {@code start} the position before the call, after whitespace.
     */
    boolean readNumber() throws MalformedJsonException {
        int start = pos;
        if (pos < end && in[pos] == '-') {
            pos++;
        }
        if (pos >= end || !digit(in[pos])) {
            throw malformed("bad number");
        }
        int digits;
        if (in[pos] == '0') {
            pos++; // a leading zero stands alone: "01" fails at the next token
            digits = 1;
        } else {
            digits = requireDigits();
        }
        boolean whole = true;
        if (pos < end && in[pos] == '.') {
            whole = false;
            pos++;
            digits += requireDigits();
        }
        if (pos < end && (in[pos] == 'e' || in[pos] == 'E')) {
            whole = false;
            pos++;
            if (pos < end && (in[pos] == '+' || in[pos] == '-')) {
                pos++;
            }
            digits += requireDigits();
        }
        // Jackson's bound counts digits only: of a whole number, or of all parts of a fraction
        if (digits > maxNumberLength) {
            pos = start; // the error names where the number starts
            throw malformed("a number of " + digits + " digits, over the limit of " + maxNumberLength);
        }
        return whole;
    }

    /** One or more digits; returns how many. */
    private int requireDigits() throws MalformedJsonException {
        if (pos >= end || !digit(in[pos])) {
            throw malformed("bad number");
        }
        int start = pos;
        while (pos < end && digit(in[pos])) {
            pos++;
        }
        return pos - start;
    }

    private static boolean digit(byte b) {
        return b >= '0' && b <= '9';
    }

    /**
     * Reads a number and returns it as a long if it is a whole number that fits; otherwise {@code fallback}.
     */
    long readLong(long fallback) throws MalformedJsonException {
        peek();
        int start = pos;
        if (!readNumber()) {
            return fallback;
        }
        boolean negative = in[start] == '-';
        long value = 0;
        for (int i = negative ? start + 1 : start; i < pos; i++) {
            int d = in[i] - '0';
            if (value > (Long.MAX_VALUE - d) / 10) {
                return fallback; // too large for a long
            }
            value = value * 10 + d;
        }
        return negative ? -value : value;
    }

    /** Reads a number of any form as a double. */
    double readDouble() throws MalformedJsonException {
        peek();
        int start = pos;
        readNumber();
        return Double.parseDouble(new String(in, start, pos - start, StandardCharsets.ISO_8859_1));
    }

    /** Whether the next token is the literal {@code false}; consumes nothing. */
    boolean atFalse() {
        return peek() == 'f';
    }

    /** Skips the next value, whatever it is, checking that it is valid JSON. */
    void skipValue() throws MalformedJsonException {
        int depth = 0;
        while (true) {
            // a value starts here
            int c = peek();
            boolean closedAValue = true;
            switch (c) {
                case '{' -> {
                    pos++;
                    push(depth++, true);
                    if (consume('}')) {
                        depth--;
                    } else {
                        memberName();
                        closedAValue = false;
                    }
                }
                case '[' -> {
                    pos++;
                    push(depth++, false);
                    if (consume(']')) {
                        depth--;
                    } else {
                        closedAValue = false;
                    }
                }
                case '"' -> skipString(maxStringBytes, "string");
                case 't' -> literal("true");
                case 'f' -> literal("false");
                case 'n' -> literal("null");
                default -> {
                    if (c == '-' || (c >= '0' && c <= '9')) {
                        readNumber();
                    } else {
                        throw malformed(c < 0 ? "unexpected end" : "unexpected character");
                    }
                }
            }
            if (!closedAValue) {
                continue; // the first value inside a container is next
            }
            // after a value: a separator, the end of containers, or the end of the skipped value
            while (true) {
                if (depth == 0) {
                    return;
                }
                boolean object = containers[depth - 1];
                int next = peek();
                if (next == ',') {
                    pos++;
                    if (object) {
                        memberName();
                    }
                    break;
                } else if (next == (object ? '}' : ']')) {
                    pos++;
                    depth--;
                } else {
                    throw malformed(next < 0 ? "unexpected end" : "expected ',' or the end of a container");
                }
            }
        }
    }

    /** A member name and its colon inside an object being skipped. */
    private void memberName() throws MalformedJsonException {
        if (peek() != '"') {
            throw malformed("expected a member name");
        }
        skipString(maxNameBytes, "member name");
        expect(':');
    }

    private void push(int depth, boolean object) throws MalformedJsonException {
        if (outerDepth + depth >= maxDepth) {
            throw tooDeep();
        }
        if (containers == null) {
            containers = new boolean[8];
        } else if (depth == containers.length) {
            containers = Arrays.copyOf(containers, Math.min(maxDepth, depth * 2));
        }
        containers[depth] = object;
    }

    private void literal(String word) throws MalformedJsonException {
        if (pos + word.length() > end) {
            throw malformed("unexpected end");
        }
        for (int i = 0; i < word.length(); i++) {
            if (in[pos + i] != word.charAt(i)) {
                throw malformed("unexpected character");
            }
        }
        pos += word.length();
    }

    private MalformedJsonException tooDeep() {
        return malformed("nested deeper than " + maxDepth + " levels");
    }

    private static MalformedJsonException malformed(String why) {
        return new MalformedJsonException(why);
    }
}
