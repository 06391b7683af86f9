package io.ballast.faults;

import io.ballast.faults.Blocks.Content;
import io.ballast.faults.Blocks.Corrupt;
import io.ballast.faults.Blocks.Written;
import io.ballast.faults.Blocks.Zero;
import io.ballast.faults.History.Op;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Judges one volume of a run: its history and what its blocks read back at the end.
 *
 * <p><b>Durable writes.</b> NBD's flush makes durable every write whose reply came before the flush was
 * sent. So an acknowledged write is durable once some acknowledged flush of the volume was sent after its
 * acknowledgement: the latest such flush covers it, whichever node served either.
 *
 * <p><b>Lost.</b> For each block, take the durable write to it that was sent last, {@code d}. The block must
 * hold {@code d} or a write that may have landed after it; a write whose reply came before {@code d} was
 * sent is older, and finding it, zeros, or anything that is not an intact block written there is a lost
 * write. (Writers overlap: two writes in flight at once may land in either order, and a write that got no
 * reply may land at any time.)
 *
 * <p><b>Two writers.</b> A coordinator acknowledges only while its epoch is the volume's newest: once a newer
 * epoch acknowledged anything, its replicas had refused the older one. So an acknowledgement from epoch
 * {@code e} of a request sent after any newer epoch's first acknowledgement came back means two
 * coordinators were serving at once; so do two nodes acknowledging in one epoch. Only client times are
 * compared, all from one clock.
 */
final class Checker {
    /** At most this many findings of each kind are kept as examples; all are counted. */
    private static final int EXAMPLES = 20;

    /** The verdict on one volume. */
    record Verdict(String volume, long writesAcked, long flushesAcked, long durableBlocks, long lost, long corrupt,
                   long overlaps, List<String> examples) {
        boolean passed() {
            return lost == 0 && corrupt == 0 && overlaps == 0;
        }
    }

    private Checker() {}

    /**
     * @param volumeIndex the volume's number in the blocks' headers
     * @param ops         the whole run's history (other volumes' requests are skipped)
     * @param contents    what each block that some write covered reads back as
     */
    static Verdict check(String volume, int volumeIndex, List<Op> ops, Map<Long, Content> contents) {
        List<Op> mine = ops.stream().filter(op -> op.volume() == volumeIndex).toList();
        List<String> examples = new ArrayList<>();
        long lastFlushSent = -1;
        long flushesAcked = 0;
        long writesAcked = 0;
        Map<Long, Op> writes = new HashMap<>();
        for (Op op : mine) {
            if (op.flush()) {
                if (op.acked()) {
                    flushesAcked++;
                    lastFlushSent = Math.max(lastFlushSent, op.sent());
                }
            } else {
                writes.put(op.id(), op);
                writesAcked += op.acked() ? 1 : 0;
            }
        }
        // Per block, the durable write sent last.
        Map<Long, Op> newestDurable = new HashMap<>();
        for (Op w : writes.values()) {
            if (w.acked() && w.replied() < lastFlushSent) {
                for (long b = w.firstBlock(); b < w.firstBlock() + w.blocks(); b++) {
                    newestDurable.merge(b, w, (a, c) -> a.sent() >= c.sent() ? a : c);
                }
            }
        }
        long lost = 0;
        long corrupt = 0;
        for (Map.Entry<Long, Content> entry : contents.entrySet()) {
            long block = entry.getKey();
            Content content = entry.getValue();
            Op durable = newestDurable.get(block);
            String problem = null;
            boolean isCorrupt = false;
            switch (content) {
                case Corrupt c -> {
                    problem = c.why();
                    isCorrupt = true;
                }
                case Written w when w.volume() != volumeIndex || w.block() != block || !covers(writes.get(w.write()), block) -> {
                    problem = "holds a block of volume " + w.volume() + " block " + w.block() + " write " + w.write()
                            + ", which no write put here";
                    isCorrupt = true;
                }
                case Zero z when durable != null -> problem = "reads zeros; durable write " + describe(durable) + " is gone";
                case Written w when durable != null && w.write() != durable.id()
                        && writes.get(w.write()).replied() >= 0 && writes.get(w.write()).replied() < durable.sent() ->
                        problem = "holds write " + describe(writes.get(w.write())) + ", older than durable write "
                                + describe(durable);
                default -> { }
            }
            if (problem != null) {
                if (isCorrupt) {
                    corrupt++;
                } else {
                    lost++;
                }
                if (examples.size() < EXAMPLES) {
                    examples.add(volume + " block " + block + ": " + problem);
                }
            }
        }
        long overlaps = overlaps(volume, mine, examples);
        return new Verdict(volume, writesAcked, flushesAcked, newestDurable.size(), lost, corrupt, overlaps,
                List.copyOf(examples));
    }

    private static boolean covers(Op write, long block) {
        return write != null && block >= write.firstBlock() && block < write.firstBlock() + write.blocks();
    }

    /** Acknowledgements that overlap a newer epoch's, or one epoch acknowledged from two nodes. */
    private static long overlaps(String volume, List<Op> ops, List<String> examples) {
        TreeMap<Long, Long> firstAck = new TreeMap<>();
        Map<Long, String> nodeOf = new HashMap<>();
        long overlaps = 0;
        for (Op op : ops) {
            if (!op.acked()) {
                continue;
            }
            firstAck.merge(op.epoch(), op.replied(), Math::min);
            String before = nodeOf.putIfAbsent(op.epoch(), op.node());
            if (before != null && !before.equals(op.node())) {
                overlaps++;
                if (examples.size() < EXAMPLES) {
                    examples.add(volume + ": epoch " + op.epoch() + " acknowledged by " + before + " and " + op.node());
                }
            }
        }
        // For each epoch, the earliest first acknowledgement of any newer epoch.
        Map<Long, Long> newerFirstAck = new HashMap<>();
        long earliest = Long.MAX_VALUE;
        for (Map.Entry<Long, Long> e : firstAck.descendingMap().entrySet()) {
            newerFirstAck.put(e.getKey(), earliest);
            earliest = Math.min(earliest, e.getValue());
        }
        for (Op op : ops) {
            if (op.acked() && op.sent() > newerFirstAck.get(op.epoch())) {
                overlaps++;
                if (examples.size() < EXAMPLES) {
                    examples.add(volume + ": " + describe(op) + " was acknowledged in epoch " + op.epoch()
                            + " although it was sent after a newer epoch acknowledged at "
                            + millis(newerFirstAck.get(op.epoch())));
                }
            }
        }
        return overlaps;
    }

    static String describe(Op op) {
        String what = op.flush() ? "flush" : "#" + op.id() + " (blocks " + op.firstBlock() + "+" + op.blocks() + ")";
        return what + " via " + op.node() + " epoch " + op.epoch() + ", sent " + millis(op.sent())
                + (op.replied() >= 0 ? ", " + op.outcome().name().toLowerCase() + " " + millis(op.replied()) : ", no reply");
    }

    private static String millis(long nanos) {
        return String.format("%.3f s", nanos / 1e9);
    }
}
