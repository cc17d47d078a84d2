package dev.procpool.examples;

import com.fasterxml.jackson.databind.ObjectMapper;

import java.nio.file.Path;

/**
 * The same work as one pool task, done the old way: a fresh JVM per file. It creates a
 * {@link JavaSourceStatsHandler} (loading the compiler), parses one file, prints the {@code FileStats} as JSON and
 * exits. {@link BatchExample} launches it once per file to show what persistent workers save.
 *
 * <pre>java -cp &lt;classpath&gt; dev.procpool.examples.OneShot Foo.java</pre>
 */
public final class OneShot {
    private OneShot() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length != 1) {
            System.err.println("usage: OneShot <file.java>");
            System.exit(2);
        }
        try {
            JavaSourceStatsHandler.FileStats stats = new JavaSourceStatsHandler().stats(Path.of(args[0]));
            System.out.println(new ObjectMapper().writeValueAsString(stats));
        } catch (Exception e) {
            System.err.println("OneShot: " + e.getMessage()); // one line: BatchExample shows the last line
            System.exit(1);
        }
    }
}
