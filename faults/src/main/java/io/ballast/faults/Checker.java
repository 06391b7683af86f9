package io.ballast.faults;

import io.ballast.faults.Blocks.Content;
import io.ballast.faults.Blocks.Corrupt;
import io.ballast.faults.Blocks.Written;
import io.ballast.faults.Blocks.Zero;
import io.ballast.faults.History.Op;
import io.ballast.faults.History.Read;
import java.util.ArrayList;
import java.util.Comparator;
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
 * reply may land at any time while its epoch serves, but not after a newer epoch acknowledged: see below.)
 * A block that no write covered must read zeros.
 *
 * <p><b>Stale reads.</b> The same rule, at the time of every read during the run: a read must not return
 * zeros or an older write where a write was durable (its covering flush acknowledged) before the read was
 * sent. And no read returns a write sent after the read was answered, nor garbage, unless a write of that
 * block was in flight during the read (it may see the write half done).
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
    record Verdict(String volume, long writesAcked, long flushesAcked, long readsChecked, long durableBlocks,
                   long lost, long staleReads, long corrupt, long overlaps, List<String> examples) {
        boolean passed() {
            return lost == 0 && staleReads == 0 && corrupt == 0 && overlaps == 0;
        }
    }

    private Checker() {}

    /**
     * @param volumeIndex the volume's number in the blocks' headers
     * @param ops         the whole run's writes and flushes (other volumes' are skipped)
     * @param reads       the whole run's reads (other volumes' are skipped)
     * @param contents    what the volume's blocks read back as at the end
     */
    static Verdict check(String volume, int volumeIndex, List<Op> ops, List<Read> reads, Map<Long, Content> contents) {
        List<Op> mine = ops.stream().filter(op -> op.volume() == volumeIndex).toList();
        Map<Long, Op> writes = new HashMap<>();
        List<Op> flushes = new ArrayList<>();
        for (Op op : mine) {
            if (op.flush()) {
                if (op.acked()) {
                    flushes.add(op);
                }
            } else {
                writes.put(op.id(), op);
            }
        }
        Judge judge = new Judge(volume, writes, durability(writes, flushes), newerFirstAck(mine));
        for (Map.Entry<Long, Content> entry : contents.entrySet()) {
            long block = entry.getKey();
            switch (entry.getValue()) {
                case Corrupt c -> judge.corrupt(block, c.why());
                case Zero z -> judge.block(block, History.ZEROS, Long.MAX_VALUE, Long.MAX_VALUE, null);
                case Written w when w.volume() != volumeIndex || w.block() != block -> judge.corrupt(block,
                        "holds a block of volume " + w.volume() + " block " + w.block() + " write " + w.write());
                case Written w -> judge.block(block, w.write(), Long.MAX_VALUE, Long.MAX_VALUE, null);
            }
        }
        long readsChecked = 0;
        for (Read read : reads) {
            if (read.volume() != volumeIndex || !read.acked()) {
                continue;
            }
            readsChecked++;
            for (int i = 0; i < read.seen().length; i++) {
                judge.block(read.firstBlock() + i, read.seen()[i], read.sent(), read.replied(), read);
            }
        }
        long overlaps = overlaps(volume, mine, judge.newerFirstAck, judge.examples);
        long writesAcked = writes.values().stream().filter(Op::acked).count();
        return new Verdict(volume, writesAcked, flushes.size(), readsChecked, judge.durableBlocks(), judge.lost,
                judge.stale, judge.corrupt, overlaps, List.copyOf(judge.examples));
    }

    /** Judges what one block held at one time against the writes that were durable by then. */
    private static final class Judge {
        final String volume;
        final Map<Long, Op> writes;
        final Map<Long, Durable> durable;
        final Map<Long, Long> newerFirstAck;
        /** Every write, by the blocks it covers. */
        final Map<Long, List<Op>> writesOf = new HashMap<>();
        final List<String> examples = new ArrayList<>();
        long lost;
        long stale;
        long corrupt;

        Judge(String volume, Map<Long, Op> writes, Map<Long, Durable> durable, Map<Long, Long> newerFirstAck) {
            this.volume = volume;
            this.writes = writes;
            for (Op w : writes.values()) {
                for (long b = w.firstBlock(); b < w.firstBlock() + w.blocks(); b++) {
                    writesOf.computeIfAbsent(b, x -> new ArrayList<>()).add(w);
                }
            }
            this.durable = durable;
            this.newerFirstAck = newerFirstAck;
        }

        long durableBlocks() {
            return durable.size();
        }

        /**
         * {@code block} held write {@code seen} (or zeros) when read by {@code read} (null: at the end),
         * sent at {@code sent} and answered at {@code answered}.
         */
        void block(long block, long seen, long sent, long answered, Read read) {
            Durable byBlock = durable.get(block);
            Op d = byBlock == null ? null : byBlock.newestBefore(sent);
            String when = read == null ? "" : "read sent at " + millis(read.sent()) + " via " + read.node() + " epoch "
                    + read.epoch() + ": ";
            if (seen == History.GARBLED) {
                // A read that overlaps a write of the same block may see it half done: no block device
                // promises more. Garbage anywhere else is corruption.
                if (read == null || !writtenDuring(block, read)) {
                    corrupt(block, when + "garbled, or a block written elsewhere");
                }
                return;
            }
            if (seen == History.ZEROS) {
                if (d != null) {
                    loss(read, block, when + "reads zeros; durable write " + describe(d) + " is gone");
                }
                return;
            }
            Op w = writes.get(seen);
            if (!covers(w, block)) {
                corrupt(block, when + "holds write " + seen + ", which no write put here");
            } else if (w.sent() > answered) {
                corrupt(block, when + "holds write " + describe(w) + ", sent after the read was answered");
            } else if (d != null && w.id() != d.id() && latestLanding(w, newerFirstAck) < d.sent()) {
                loss(read, block, when + "holds write " + describe(w) + ", older than durable write " + describe(d));
            }
        }

        /** Whether a write of {@code block} was in flight at some time while {@code read} was. */
        private boolean writtenDuring(long block, Read read) {
            for (Op w : writesOf.getOrDefault(block, List.of())) {
                if (w.sent() <= read.replied() && (w.replied() < 0 || w.replied() >= read.sent())) {
                    return true;
                }
            }
            return false;
        }

        void corrupt(long block, String why) {
            corrupt++;
            example(block, why);
        }

        private void loss(Read read, long block, String why) {
            if (read == null) {
                lost++;
            } else {
                stale++;
            }
            example(block, why);
        }

        private void example(long block, String problem) {
            if (examples.size() < EXAMPLES) {
                examples.add(volume + " block " + block + ": " + problem);
            }
        }
    }

    /**
     * The durable writes of one block in the order they became durable, so that "the durable write sent
     * last, among those durable before time t" is one binary search.
     */
    private static final class Durable {
        private final List<long[]> pending = new ArrayList<>(); // {durable at, write id}
        private long[] at;
        private Op[] newest;

        void add(long durableAt, Op write) {
            pending.add(new long[] {durableAt, write.id()});
        }

        void seal(Map<Long, Op> writes) {
            pending.sort(Comparator.comparingLong(p -> p[0]));
            at = new long[pending.size()];
            newest = new Op[pending.size()];
            for (int i = 0; i < at.length; i++) {
                at[i] = pending.get(i)[0];
                Op w = writes.get(pending.get(i)[1]);
                newest[i] = i > 0 && newest[i - 1].sent() >= w.sent() ? newest[i - 1] : w;
            }
        }

        /** The durable write sent last among those durable strictly before {@code time}, or null. */
        Op newestBefore(long time) {
            int before = countBelow(at, time);
            return before == 0 ? null : newest[before - 1];
        }
    }

    /**
     * Per block, the acknowledged writes that an acknowledged flush made durable, each at the reply of the
     * first flush sent after its own reply.
     */
    private static Map<Long, Durable> durability(Map<Long, Op> writes, List<Op> flushes) {
        List<Op> bySent = new ArrayList<>(flushes);
        bySent.sort(Comparator.comparingLong(Op::sent));
        long[] sent = new long[bySent.size()];
        long[] earliestReplyFrom = new long[bySent.size() + 1]; // the earliest reply among flushes i..end
        earliestReplyFrom[bySent.size()] = Long.MAX_VALUE;
        for (int i = bySent.size() - 1; i >= 0; i--) {
            sent[i] = bySent.get(i).sent();
            earliestReplyFrom[i] = Math.min(bySent.get(i).replied(), earliestReplyFrom[i + 1]);
        }
        Map<Long, Durable> byBlock = new HashMap<>();
        for (Op w : writes.values()) {
            if (!w.acked()) {
                continue;
            }
            long durableAt = earliestReplyFrom[countBelow(sent, w.replied() + 1)]; // flushes sent after the reply
            if (durableAt == Long.MAX_VALUE) {
                continue;
            }
            for (long b = w.firstBlock(); b < w.firstBlock() + w.blocks(); b++) {
                byBlock.computeIfAbsent(b, x -> new Durable()).add(durableAt, w);
            }
        }
        byBlock.values().forEach(d -> d.seal(writes));
        return byBlock;
    }

    /** How many of {@code sorted} are less than {@code value}. */
    private static int countBelow(long[] sorted, long value) {
        int lo = 0;
        int hi = sorted.length;
        while (lo < hi) {
            int mid = (lo + hi) >>> 1;
            if (sorted[mid] < value) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        return lo;
    }

    private static boolean covers(Op write, long block) {
        return write != null && block >= write.firstBlock() && block < write.firstBlock() + write.blocks();
    }

    /**
     * The latest time {@code write} can have reached a replica: its reply if it got one, and never after a
     * newer epoch acknowledged anything, for by then every in-sync replica refused its epoch. A write that
     * got no reply from an epoch that was never superseded may land at any time.
     */
    private static long latestLanding(Op write, Map<Long, Long> newerFirstAck) {
        long fenced = newerFirstAck.getOrDefault(write.epoch(), Long.MAX_VALUE);
        return Math.min(write.replied() >= 0 ? write.replied() : Long.MAX_VALUE, fenced);
    }

    /** For each epoch in {@code ops}, the earliest first acknowledgement of any newer epoch (or none). */
    private static Map<Long, Long> newerFirstAck(List<Op> ops) {
        TreeMap<Long, Long> firstAck = new TreeMap<>();
        for (Op op : ops) {
            if (op.acked()) {
                firstAck.merge(op.epoch(), op.replied(), Math::min);
            }
        }
        Map<Long, Long> newer = new HashMap<>();
        for (Op op : ops) {
            newer.computeIfAbsent(op.epoch(), epoch -> firstAck.tailMap(epoch, false).values().stream()
                    .min(Long::compare).orElse(Long.MAX_VALUE));
        }
        return newer;
    }

    /** Acknowledgements that overlap a newer epoch's, or one epoch acknowledged from two nodes. */
    private static long overlaps(String volume, List<Op> ops, Map<Long, Long> newerFirstAck, List<String> examples) {
        Map<Long, String> nodeOf = new HashMap<>();
        long overlaps = 0;
        for (Op op : ops) {
            if (!op.acked()) {
                continue;
            }
            String before = nodeOf.putIfAbsent(op.epoch(), op.node());
            if (before != null && !before.equals(op.node())) {
                overlaps++;
                if (examples.size() < EXAMPLES) {
                    examples.add(volume + ": epoch " + op.epoch() + " acknowledged by " + before + " and " + op.node());
                }
            }
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
