package dev.procpool;

import java.time.Duration;
import java.util.Objects;

/** Argument checks shared by the builders: each message names the setting, the bad value and what is allowed. */
final class Checks {
    private Checks() {
    }

    static Duration positive(String setting, Duration value) {
        Objects.requireNonNull(value, setting);
        if (value.isNegative() || value.isZero()) {
            throw new IllegalArgumentException(setting + " must be positive, was " + value);
        }
        return value;
    }

    static Duration notNegative(String setting, Duration value) {
        Objects.requireNonNull(value, setting);
        if (value.isNegative()) {
            throw new IllegalArgumentException(setting + " must be zero or positive, was " + value);
        }
        return value;
    }

    static int between(String setting, int value, int min, int max) {
        if (value < min || value > max) {
            throw new IllegalArgumentException(setting + " must be between " + min + " and " + max + ", was " + value);
        }
        return value;
    }

    /** A backoff growth factor, 1 to 10. */
    static double multiplier(double value) {
        if (!(value >= 1.0 && value <= 10.0)) {
            throw new IllegalArgumentException("multiplier must be between 1 and 10, was " + value);
        }
        return value;
    }

    /** A random spread as a fraction, 0 to 1. */
    static double jitter(double value) {
        if (!(value >= 0.0 && value <= 1.0)) {
            throw new IllegalArgumentException("jitter must be between 0 and 1, was " + value);
        }
        return value;
    }
}
