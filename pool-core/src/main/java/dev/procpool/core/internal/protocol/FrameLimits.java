package dev.procpool.core.internal.protocol;

import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * The limits a frame's JSON must keep to, besides the frame length: one definition for both directions, used by the
 * host's frame reader, by the check of a payload at submit and of a result in the Java worker runtime, so that
 * whatever one side may send the other can read (PROTOCOL.md, "Limits"). They are the read limits of the payload
 * mapper, so a value that passes also reads with that mapper.
 *
 * <p>What counts: nesting counts every array and object of the whole frame, the frame's own object being level 1,
 * so a payload or result nests at most {@code maxNestingDepth - 1} deep; a number's length counts its digits (of the
 * integer, fraction and exponent parts, not the sign, point or {@code e}), as Jackson counts them; a string's or a
 * member name's length counts its bytes as written between the quotes (an escape counts as the bytes it takes), which
 * is never fewer than the characters Jackson counts.
 *
 * @param maxNestingDepth the deepest nesting of arrays and objects in a frame, the frame's object included
 * @param maxNumberLength the most digits a number may have
 * @param maxStringBytes  the longest string value, in bytes as written
 * @param maxNameBytes    the longest member name, in bytes as written
 */
public record FrameLimits(int maxNestingDepth, int maxNumberLength, int maxStringBytes, int maxNameBytes) {

    /** The limits of a default Jackson mapper: 1000 levels, 1000 digits, 20,000,000 and 50,000 bytes. */
    public static final FrameLimits DEFAULT = of(StreamReadConstraints.defaults());

    public FrameLimits {
        if (maxNestingDepth < 2 || maxNumberLength < 1 || maxStringBytes < 1 || maxNameBytes < 1) {
            throw new IllegalArgumentException("frame limits must leave room for a frame with a value, were "
                    + maxNestingDepth + " levels, " + maxNumberLength + " digits, " + maxStringBytes
                    + " string bytes, " + maxNameBytes + " name bytes");
        }
    }

    /** The read limits of this mapper. */
    public static FrameLimits of(ObjectMapper mapper) {
        return of(mapper.getFactory().streamReadConstraints());
    }

    public static FrameLimits of(StreamReadConstraints constraints) {
        return new FrameLimits(constraints.getMaxNestingDepth(), constraints.getMaxNumberLength(),
                constraints.getMaxStringLength(), constraints.getMaxNameLength());
    }
}
