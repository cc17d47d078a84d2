package dev.procpool.core.internal.text;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.time.Duration;
import java.util.Locale;

import static org.junit.jupiter.api.Assertions.assertEquals;

class UnitsTest {

    @ParameterizedTest(name = "{0} ns is \"{1}\"")
    @CsvSource(delimiter = '|', value = {
            "0|0 ns",
            "7|7 ns",
            "999|999 ns",
            "1000|1 µs",
            "3000|3 µs",
            "3456|3.46 µs",
            "12345|12.3 µs",
            "999499|999 µs",
            "999500|1 ms",        // rounds up into the next unit, never "1000 µs"
            "250000000|250 ms",
            "1040100838|1.04 s",
            "1500000000|1.5 s",
            "2000000000|2 s",
            "59940000000|59.9 s",
            "59950000000|1 min",  // would round to 60.0 s
            "125000000000|2 min 5 s",
            "3600000000000|1 h",
            "3720000000000|1 h 2 min",
            "86399000000000|1 d",
            "93600000000000|1 d 2 h",
            "-250000000|-250 ms",
            "9223372036854775807|106752 d",
            "-9223372036854775808|-106752 d",
    })
    void nanoseconds(long nanos, String expected) {
        assertEquals(expected, Units.nanos(nanos));
    }

    @Test
    void durations_match_their_nanoseconds_and_go_beyond_them() {
        assertEquals("1.04 s", Units.duration(Duration.ofNanos(1_040_100_838)));
        assertEquals("250 ms", Units.duration(Duration.ofMillis(250)));
        assertEquals("3 µs", Units.duration(Duration.ofNanos(3_000)));
        assertEquals("0 ns", Units.duration(Duration.ZERO));
        assertEquals("-1.5 s", Units.duration(Duration.ofMillis(-1500)));
        assertEquals("2 min 5 s", Units.duration(Duration.ofMillis(125_400)));
        assertEquals("2 min 6 s", Units.duration(Duration.ofMillis(125_500)));
        assertEquals("1 h", Units.duration(Duration.ofMillis(3_599_600)));
        assertEquals("365 d", Units.duration(Duration.ofDays(365)));
        // far beyond what nanoseconds in a long can hold (292 years)
        assertEquals("36500000 d", Units.duration(Duration.ofDays(36_500_000)));
        assertEquals("-36500000 d", Units.duration(Duration.ofDays(-36_500_000)));
    }

    @ParameterizedTest(name = "{0} bytes is \"{1}\"")
    @CsvSource(delimiter = '|', value = {
            "0|0 B",
            "512|512 B",
            "1023|1023 B",
            "1024|1 KiB",
            "1536|1.5 KiB",
            "10240|10 KiB",
            "1047552|1023 KiB",
            "1048064|1 MiB",      // 1023.5 KiB rounds to 1024 KiB, which is 1 MiB
            "67108864|64 MiB",
            "7000000|6.68 MiB",
            "1073741824|1 GiB",
            "1099511627776|1 TiB",
            "9223372036854775807|8 EiB",
            "-2048|-2 KiB",
            "-9223372036854775808|-8 EiB",
    })
    void sizes(long bytes, String expected) {
        assertEquals(expected, Units.bytes(bytes));
    }

    @Test
    void the_default_locale_does_not_change_the_decimal_point() {
        Locale before = Locale.getDefault();
        try {
            Locale.setDefault(Locale.GERMANY);
            assertEquals("1.04 s", Units.nanos(1_040_000_000));
            assertEquals("1.5 KiB", Units.bytes(1536));
        } finally {
            Locale.setDefault(before);
        }
    }
}
