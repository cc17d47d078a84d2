package dev.procpool.core.internal.process;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

class SafeTextTest {
    @Test
    void plainTextIsReturnedAsItIs() {
        String text = "an ordinary line: ünïcödé, 日本語, 🙂, a\ttab and a \\ backslash";
        assertSame(text, SafeText.escape(text));
    }

    @Test
    void controlBytesAreEscaped() {
        assertEquals("a\\nb\\rc\\x00d\\x1b[31me\\x07f\\x7fg", SafeText.escape("a\nb\rc\u0000d\u001b[31me\u0007f\u007fg"));
    }

    @Test
    void c1ControlsAndLineSeparatorsAreEscaped() {
        assertEquals("\\x85\\x9b\\u2028\\u2029", SafeText.escape("\u0085\u009b\u2028\u2029"));
    }

    @Test
    void bidiOverridesAreEscaped() {
        assertEquals("user\\u202e\\u2066txt.exe", SafeText.escape("user\u202e\u2066txt.exe"));
    }

    @Test
    void escapingTwiceChangesNothing() {
        String once = SafeText.escape("x\u001by\nz\u2028");
        assertEquals(once, SafeText.escape(once));
    }
}
