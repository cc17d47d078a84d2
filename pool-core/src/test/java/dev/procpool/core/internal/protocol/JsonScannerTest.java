package dev.procpool.core.internal.protocol;

import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.charset.StandardCharsets;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The frame scanner against Jackson, the reference for what is valid JSON. */
class JsonScannerTest {
    private static final int MAX_DEPTH = StreamReadConstraints.defaults().getMaxNestingDepth();
    private static final int MAX_NUMBER = StreamReadConstraints.defaults().getMaxNumberLength();
    /** Characters that matter to JSON's grammar: mutations with them make the interesting mistakes. */
    private static final String GRAMMAR = "{}[],:\"\\ \t0123456789-+.eEtrufalsnxu/";

    private final ObjectMapper jackson = new ObjectMapper().enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);
    private final FrameCodec codec = new FrameCodec();

    private boolean jacksonAccepts(byte[] json) {
        try {
            jackson.readTree(json);
            return !new String(json, StandardCharsets.UTF_8).isBlank();
        } catch (Exception e) {
            return false;
        }
    }

    private static boolean scannerAccepts(byte[] json) {
        JsonScanner scanner = new JsonScanner(json, FrameLimits.DEFAULT);
        try {
            scanner.skipValue();
            return scanner.peek() == -1;
        } catch (JsonScanner.MalformedJsonException e) {
            return false;
        }
    }

    @Test
    void agreesWithJacksonOnRandomValuesAndTheirMutations() {
        Random random = new Random(11);
        int mutants = 0;
        int rejected = 0;
        for (int i = 0; i < 3000; i++) {
            // Escaped surrogate pairs stay out: cut in half they make a lone surrogate, which Jackson takes in a
            // value but not in a member name; the scanner takes it in both (see loneSurrogateEscapesAreTaken).
            String value = randomValue(random, 0).replace("\\uD83D\\uDE00", "\uD83D\uDE00");
            byte[] json = value.getBytes(StandardCharsets.UTF_8);
            assertTrue(scannerAccepts(json), value);
            assertTrue(jacksonAccepts(json), value);
            for (int m = 0; m < 5; m++) {
                byte[] mutant = mutate(random, value).getBytes(StandardCharsets.UTF_8);
                boolean expected = jacksonAccepts(mutant);
                assertEquals(expected, scannerAccepts(mutant),
                        () -> "scanner and Jackson disagree on: " + new String(mutant, StandardCharsets.UTF_8));
                mutants++;
                rejected += expected ? 0 : 1;
            }
        }
        assertTrue(rejected > mutants / 4 && rejected < mutants, "mutations should break about half: " + rejected
                + " of " + mutants); // else the comparison proves little
    }

    @Test
    void rawResultIsTheValueAsWritten() {
        Random random = new Random(3);
        for (int i = 0; i < 500; i++) {
            String value = randomValue(random, 0);
            Frame.Result result = assertInstanceOf(Frame.Result.class, codec.decode(
                    ("{\"v\":1,\"type\":\"result\",\"id\":\"t\",\"result\": " + value + " }")
                            .getBytes(StandardCharsets.UTF_8)));
            assertArrayEquals(value.getBytes(StandardCharsets.UTF_8), result.result());
        }
    }

    @Test
    void nestingIsBoundedAsJacksonBoundsIt() throws Exception {
        String ok = "[".repeat(MAX_DEPTH) + "]".repeat(MAX_DEPTH);
        String deep = "[".repeat(MAX_DEPTH + 1) + "]".repeat(MAX_DEPTH + 1);
        assertTrue(scannerAccepts(ok.getBytes(StandardCharsets.US_ASCII)));
        assertEquals(false, scannerAccepts(deep.getBytes(StandardCharsets.US_ASCII)));
        // In a frame the frame's own object is the first level, as for Jackson reading the whole line.
        String fits = "[".repeat(MAX_DEPTH - 1) + "]".repeat(MAX_DEPTH - 1);
        byte[] fitting = ("{\"v\":1,\"type\":\"result\",\"id\":\"t\",\"result\":" + fits + "}")
                .getBytes(StandardCharsets.US_ASCII);
        assertInstanceOf(Frame.Result.class, codec.decode(fitting));
        assertTrue(jacksonAccepts(fitting));
        byte[] tooDeep = ("{\"v\":1,\"type\":\"result\",\"id\":\"t\",\"result\":" + ok + "}")
                .getBytes(StandardCharsets.US_ASCII);
        assertEquals(false, jacksonAccepts(tooDeep));
        Frame frame = codec.decode(tooDeep);
        assertTrue(assertInstanceOf(Frame.UnreadableAnswer.class, frame).why()
                .contains("nested deeper than " + MAX_DEPTH + " levels"), frame.toString());
        // far deeper than any stack would allow a recursive reader
        assertEquals(false, scannerAccepts("[{\"a\":".repeat(200_000).getBytes(StandardCharsets.US_ASCII)));
    }

    @Test
    void numbersAreBoundedInLengthAsJacksonBoundsThem() {
        String digits = "1".repeat(MAX_NUMBER);
        String[] numbers = {digits, "-" + digits, "1" + digits, "-1" + digits, digits.substring(1) + ".5",
                digits + ".5", "0." + digits.substring(1), "0." + digits, "1e" + digits.substring(2),
                "1.5e" + digits.substring(3), "1.5e" + digits.substring(2)};
        int accepted = 0;
        for (String number : numbers) {
            byte[] json = number.getBytes(StandardCharsets.US_ASCII);
            boolean expected = jacksonAccepts(json);
            assertEquals(expected, scannerAccepts(json), () -> "disagree on a number of " + number.length()
                    + " characters starting " + number.substring(0, 4));
            accepted += expected ? 1 : 0;
        }
        assertTrue(accepted > 0 && accepted < numbers.length, "both sides of the bound are tried: " + accepted);
    }

    @ParameterizedTest
    @ValueSource(strings = {"C0 80", "C1 BF", "E0 80 80", "ED A0 80", "F4 90 80 80", "F5 80 80 80", "80", "FF",
            "E2 82", "F0 9F 98"})
    void malformedUtf8InAnyStringIsRejected(String hex) {
        byte[] bad = bytes(hex);
        for (String template : new String[] {"\"%s\"", "[\"a%s\"]", "{\"k%s\":1}"}) {
            String[] parts = template.split("%s");
            byte[] json = concat(parts[0].getBytes(StandardCharsets.US_ASCII), bad,
                    parts[1].getBytes(StandardCharsets.US_ASCII));
            assertEquals(false, scannerAccepts(json), template + " with " + hex);
        }
        Frame frame = codec.decode(concat("{\"v\":1,\"type\":\"cancel\",\"id\":\"".getBytes(StandardCharsets.US_ASCII),
                bad, "\"}".getBytes(StandardCharsets.US_ASCII)));
        assertInstanceOf(Frame.NotAFrame.class, frame);
    }

    @Test
    void wellFormedUtf8AndEscapesAreDecoded() {
        String id = "caf\u00e9 \u20ac \uD83D\uDE00 \u0007";
        Frame frame = codec.decode(("{\"v\":1,\"type\":\"cancel\",\"id\":\"caf\u00e9 \\u20ac \uD83D\uDE00 \\u0007\"}")
                .getBytes(StandardCharsets.UTF_8));
        assertEquals(new Frame.Cancel(id), frame);
    }

    @Test
    void loneSurrogateEscapesAreTaken() {
        // JavaScript's JSON.stringify writes a lone surrogate this way; refusing the frame would lose the answer.
        assertEquals(new Frame.Cancel("a\uD83D"), codec.decode("{\"v\":1,\"type\":\"cancel\",\"id\":\"a\\uD83D\"}"
                .getBytes(StandardCharsets.US_ASCII)));
    }

    @Test
    void aByteOrderMarkBeforeTheFrameIsAllowed() {
        byte[] line = concat(bytes("EF BB BF"), "{\"v\":1,\"type\":\"shutdown\"}".getBytes(StandardCharsets.US_ASCII));
        assertEquals(new Frame.Shutdown(), codec.decode(line));
    }

    private static byte[] bytes(String hex) {
        String[] parts = hex.split(" ");
        byte[] out = new byte[parts.length];
        for (int i = 0; i < parts.length; i++) {
            out[i] = (byte) Integer.parseInt(parts[i], 16);
        }
        return out;
    }

    private static byte[] concat(byte[]... parts) {
        int length = 0;
        for (byte[] part : parts) {
            length += part.length;
        }
        byte[] out = new byte[length];
        int at = 0;
        for (byte[] part : parts) {
            System.arraycopy(part, 0, out, at, part.length);
            at += part.length;
        }
        return out;
    }

    private static String mutate(Random random, String value) {
        StringBuilder text = new StringBuilder(value);
        int at = random.nextInt(text.length() + 1);
        char c = GRAMMAR.charAt(random.nextInt(GRAMMAR.length()));
        switch (random.nextInt(3)) {
            case 0 -> text.insert(at, c);
            case 1 -> {
                if (at < text.length()) {
                    text.deleteCharAt(at);
                }
            }
            default -> {
                if (at < text.length()) {
                    text.setCharAt(at, c);
                }
            }
        }
        return text.toString();
    }

    private static String randomValue(Random random, int depth) {
        int kind = random.nextInt(depth > 4 ? 4 : 7);
        return switch (kind) {
            case 0 -> randomString(random);
            case 1 -> randomNumber(random);
            case 2 -> new String[] {"true", "false", "null"}[random.nextInt(3)];
            case 3 -> randomString(random);
            case 4, 5 -> {
                StringBuilder object = new StringBuilder("{");
                int members = random.nextInt(4);
                for (int i = 0; i < members; i++) {
                    object.append(i == 0 ? "" : ",").append(space(random)).append(randomString(random))
                            .append(space(random)).append(':').append(space(random))
                            .append(randomValue(random, depth + 1));
                }
                yield object.append(space(random)).append('}').toString();
            }
            default -> {
                StringBuilder array = new StringBuilder("[");
                int items = random.nextInt(4);
                for (int i = 0; i < items; i++) {
                    array.append(i == 0 ? "" : ",").append(space(random)).append(randomValue(random, depth + 1));
                }
                yield array.append(space(random)).append(']').toString();
            }
        };
    }

    private static String space(Random random) {
        return random.nextInt(4) == 0 ? " " : "";
    }

    private static String randomString(Random random) {
        String[] pieces = {"a", "id", "\\\"", "\\\\", "\\/", "\\n", "\\u00e9", "\\uD83D\\uDE00", "\u00e9", "\u20ac",
                "\uD83D\uDE00", " ", "x y"};
        StringBuilder text = new StringBuilder("\"");
        int count = random.nextInt(4);
        for (int i = 0; i < count; i++) {
            text.append(pieces[random.nextInt(pieces.length)]);
        }
        return text.append('"').toString();
    }

    private static String randomNumber(Random random) {
        String[] numbers = {"0", "-0", "7", "-12", "3.25", "1e9", "-2.5E-3", "123456789012345678901234", "0.0"};
        return numbers[random.nextInt(numbers.length)];
    }
}
