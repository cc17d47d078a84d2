package dev.procpool.packaging;

import dev.procpool.TaskContext;
import dev.procpool.TaskHandler;

import java.util.Locale;
import java.util.Map;
import java.util.Set;

/** Upper-cases text, and says how the worker JVM that ran it was set up, so a test can tell the packagings apart. */
public final class UpperHandler implements TaskHandler {
    @Override
    public Set<String> taskTypes() {
        return Set.of("upper");
    }

    @Override
    public Object handle(TaskContext context) {
        String text = context.payload(String.class);
        return Map.of("text", text.toUpperCase(Locale.ROOT),
                "pid", ProcessHandle.current().pid(),
                "module", String.valueOf(UpperHandler.class.getModule().getName()),
                "loader", UpperHandler.class.getClassLoader().getClass().getName(),
                "classPath", System.getProperty("java.class.path", ""));
    }
}
