package dev.procpool.examples.bench;

import java.io.FileDescriptor;
import java.io.FileInputStream;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;

/**
 * The floor for one round trip: a JVM that reads fixed {@value #FRAME_BYTES}-byte frames from stdin and writes
 * each back at once on stdout, unbuffered, from its main thread. No JSON, no threads, no protocol. It exits when
 * stdin ends.
 *
 * <pre>java -cp &lt;classpath&gt; dev.procpool.examples.bench.RawPipeWorker</pre>
 */
public final class RawPipeWorker {
    /** The size of every frame, both ways. */
    public static final int FRAME_BYTES = 100;

    private RawPipeWorker() {
    }

    public static void main(String[] args) throws IOException {
        InputStream in = new FileInputStream(FileDescriptor.in);
        OutputStream out = new FileOutputStream(FileDescriptor.out);
        byte[] frame = new byte[FRAME_BYTES];
        while (true) {
            int read = in.readNBytes(frame, 0, FRAME_BYTES);
            if (read < FRAME_BYTES) {
                return; // stdin ended
            }
            out.write(frame); // one write(2): the pipe wakes the host at once
        }
    }
}
