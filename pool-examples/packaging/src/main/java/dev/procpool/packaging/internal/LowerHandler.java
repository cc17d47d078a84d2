package dev.procpool.packaging.internal;

import dev.procpool.TaskContext;
import dev.procpool.TaskHandler;

import java.util.Locale;
import java.util.Set;

/**
 * Lower-cases text. Its package is not exported by the host's module, as handlers are often kept private: on the
 * module path the pool opens it to the worker runtime alone.
 */
public final class LowerHandler implements TaskHandler {
    @Override
    public Set<String> taskTypes() {
        return Set.of("lower");
    }

    @Override
    public Object handle(TaskContext context) {
        return context.payload(String.class).toLowerCase(Locale.ROOT);
    }
}
