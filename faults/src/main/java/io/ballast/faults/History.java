package io.ballast.faults;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Everything the workload did and what came back: one entry per write, flush and read, with the node and
 * attachment epoch it went to and the client's times (nanoseconds since the run began) when it was sent and
 * when its reply came. The checker judges the run from this and from what reads back at the end.
 */
final class History {
    /** How a request ended, as the client saw it. */
    enum Outcome {
        /** Acknowledged: carried out, and for a flush, everything acknowledged before it was sent is durable. */
        ACKED,
        /** An error reply: not acknowledged, though a write may still have landed on some replicas. */
        FAILED,
        /** No reply (the connection broke or timed out): carried out or not, now or later. */
        UNKNOWN
    }

    /**
     * One request. {@code blocks} is 0 for a flush. {@code replied} is -1 when no reply came.
     */
    record Op(long id, int volume, long firstBlock, int blocks, String node, long epoch, long sent, long replied,
              Outcome outcome) {
        boolean flush() {
            return blocks == 0;
        }

        boolean acked() {
            return outcome == Outcome.ACKED;
        }
    }

    /**
     * One read during the run. {@code seen} holds, per block from {@code firstBlock}, the id of the write
     * found there, {@link #ZEROS} for a block never written, or {@link #GARBLED} for anything else (the
     * checker then judges the read corrupt); it is empty unless the read was acknowledged.
     */
    record Read(int volume, long firstBlock, String node, long epoch, long sent, long replied, Outcome outcome,
                long[] seen) {
        boolean acked() {
            return outcome == Outcome.ACKED;
        }
    }

    static final long ZEROS = 0;
    static final long GARBLED = -1;

    private final long start = System.nanoTime();
    private final AtomicLong ids = new AtomicLong();
    private final ConcurrentLinkedQueue<Op> ops = new ConcurrentLinkedQueue<>();
    private final ConcurrentLinkedQueue<Read> reads = new ConcurrentLinkedQueue<>();

    long now() {
        return System.nanoTime() - start;
    }

    /** A new write's id: unique in the run, and never 0 (a zero block is "never written"). */
    long nextWriteId() {
        return ids.incrementAndGet();
    }

    void record(Op op) {
        ops.add(op);
    }

    void record(Read read) {
        reads.add(read);
    }

    List<Op> ops() {
        return new ArrayList<>(ops);
    }

    List<Read> reads() {
        return new ArrayList<>(reads);
    }

    /**
     * The history as JSON lines, for the evidence of a failed run: {@code history.jsonl} (writes and flushes)
     * and {@code reads.jsonl} in {@code dir}.
     */
    void save(Path dir) throws IOException {
        ObjectMapper json = new ObjectMapper();
        try (BufferedWriter out = Files.newBufferedWriter(dir.resolve("history.jsonl"));
                BufferedWriter readsOut = Files.newBufferedWriter(dir.resolve("reads.jsonl"))) {
            for (Op op : ops) {
                out.write(json.writeValueAsString(op));
                out.newLine();
            }
            for (Read read : reads) {
                readsOut.write(json.writeValueAsString(read));
                readsOut.newLine();
            }
        }
    }
}
