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
 * Everything the workload did and what came back: one entry per write and per flush, with the node and
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

    private final long start = System.nanoTime();
    private final AtomicLong ids = new AtomicLong();
    private final ConcurrentLinkedQueue<Op> ops = new ConcurrentLinkedQueue<>();

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

    List<Op> ops() {
        return new ArrayList<>(ops);
    }

    /** The history as JSON lines, one request each, for the evidence of a failed run. */
    void save(Path file) throws IOException {
        ObjectMapper json = new ObjectMapper();
        try (BufferedWriter out = Files.newBufferedWriter(file)) {
            for (Op op : ops) {
                out.write(json.writeValueAsString(op));
                out.newLine();
            }
        }
    }

    static List<Op> load(Path file) throws IOException {
        ObjectMapper json = new ObjectMapper();
        List<Op> loaded = new ArrayList<>();
        for (String line : Files.readAllLines(file)) {
            if (!line.isBlank()) {
                loaded.add(json.readValue(line, Op.class));
            }
        }
        return loaded;
    }
}
