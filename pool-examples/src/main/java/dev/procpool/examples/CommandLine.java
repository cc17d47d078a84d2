package dev.procpool.examples;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The command line of an example: {@code --flag VALUE} options, {@code --switch} options and positional arguments,
 * each value checked when it is read, with a message naming the flag, the value and what is allowed.
 */
final class CommandLine {
    private static final Pattern DURATION = Pattern.compile("(\\d{1,9})(ms|s|m)");

    private final Map<String, String> values = new HashMap<>();
    private final List<String> switches = new ArrayList<>();
    private final List<String> positional = new ArrayList<>();

    private CommandLine() {
    }

    /**
     * @param args        the arguments
     * @param withValue    flags followed by a value
     * @param withoutValue flags that stand alone
     * @throws IllegalArgumentException for an unknown flag or a flag without its value
     */
    static CommandLine parse(String[] args, Set<String> withValue, Set<String> withoutValue) {
        CommandLine line = new CommandLine();
        for (int i = 0; i < args.length; i++) {
            String arg = args[i];
            if (withValue.contains(arg)) {
                if (i + 1 >= args.length) {
                    throw new IllegalArgumentException(arg + " needs a value");
                }
                line.values.put(arg, args[++i]);
            } else if (withoutValue.contains(arg)) {
                line.switches.add(arg);
            } else if (arg.startsWith("--")) {
                throw new IllegalArgumentException("unknown option " + arg + "; the options are "
                        + new TreeSet<>(union(withValue, withoutValue)));
            } else {
                line.positional.add(arg);
            }
        }
        return line;
    }

    private static Set<String> union(Set<String> a, Set<String> b) {
        Set<String> all = new HashSet<>(a);
        all.addAll(b);
        return all;
    }

    List<String> positional() {
        return positional;
    }

    boolean has(String flag) {
        return switches.contains(flag) || values.containsKey(flag);
    }

    Optional<String> text(String flag) {
        return Optional.ofNullable(values.get(flag));
    }

    int integer(String flag, int fallback, int min, int max) {
        String text = values.get(flag);
        if (text == null) {
            return fallback;
        }
        try {
            int value = Integer.parseInt(text.trim());
            if (value >= min && value <= max) {
                return value;
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new IllegalArgumentException(flag + " must be a whole number from " + min + " to " + max + ", was \""
                + text + "\"");
    }

    /** A duration written as a number and a unit: {@code 500ms}, {@code 5s}, {@code 2m}. */
    Optional<Duration> duration(String flag, Duration min, Duration max) {
        String text = values.get(flag);
        if (text == null) {
            return Optional.empty();
        }
        Matcher m = DURATION.matcher(text.trim());
        if (m.matches()) {
            long n = Long.parseLong(m.group(1));
            Duration value = switch (m.group(2)) {
                case "ms" -> Duration.ofMillis(n);
                case "s" -> Duration.ofSeconds(n);
                default -> Duration.ofMinutes(n);
            };
            if (value.compareTo(min) >= 0 && value.compareTo(max) <= 0) {
                return Optional.of(value);
            }
        }
        throw new IllegalArgumentException(flag + " must be a duration such as 500ms, 5s or 2m, from "
                + min.toMillis() + " ms to " + max.toSeconds() + " s, was \"" + text + "\"");
    }

    /** Options for the worker JVMs, separated by spaces. */
    List<String> jvmOptions(String flag) {
        return text(flag).map(t -> Arrays.stream(t.trim().split("\\s+")).filter(s -> !s.isEmpty()).toList())
                .orElse(List.of());
    }
}
