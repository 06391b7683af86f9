package io.ballast.replication;

import io.ballast.store.Replica;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The coordinator's side of the replicas' activity logs ({@code io.ballast.store.ActivityLog}): which
 * extents are hot, i.e. marked in the log of every replica that takes writes.
 *
 * <p>The rule it keeps: an extent with a write that may not yet be durable on every replica is hot. A
 * write into an extent that is not hot first marks it, on the same ordered stream, so the mark is
 * durable on a replica before the write lands there. An extent is unmarked only once a flush issued
 * after its last write succeeded on every replica, and only when room is needed: keeping a cold extent
 * marked costs a compare of 4 MiB after a crash, while marking it again costs an fsync on every
 * replica in the write path, so the least recently written {@link #LIMIT} extents stay marked.
 *
 * <p>Not thread-safe: the coordinator calls it under its order lock.
 */
final class ActivityTracker {
    /**
     * Extents kept marked while cold: 512 MiB, which a reconcile compared in 0.7 s on the benchmark's
     * 2-core VM (bench/replication, part 4). A failover must fit in 5 s, the lease and the election
     * taking about 3.4 of them; 1 GiB would have left no margin.
     */
    static final int LIMIT = 128;
    static final long EXTENT_BYTES = Replica.activityExtentBytes();

    /** Marks to send before a write: extents to mark and extents to unmark. */
    record Marks(long[] add, long[] remove) {
    }

    /** Hot extents, least recently written first, each with the flush count when it was last written. */
    private final LinkedHashMap<Long, Long> hot = new LinkedHashMap<>(16, 0.75f, true);
    private final int limit;
    /** Flushes issued so far; a write issued now is covered by flush number {@code flushesIssued + 1}. */
    private long flushesIssued;
    /** The highest flush number that succeeded on every replica that took writes. */
    private long settledThrough;

    ActivityTracker() {
        this(LIMIT);
    }

    ActivityTracker(int limit) {
        this.limit = limit;
    }

    /**
     * Records a write of {@code [offset, offset + length)} about to be issued; returns the marks to send
     * ahead of it, or null if its extents are hot already.
     */
    Marks writing(long offset, long length) {
        long first = offset / EXTENT_BYTES;
        long last = (offset + length - 1) / EXTENT_BYTES;
        List<Long> added = null;
        for (long extent = first; extent <= last; extent++) {
            if (hot.put(extent, flushesIssued) == null) {
                if (added == null) {
                    added = new ArrayList<>();
                }
                added.add(extent);
            }
        }
        if (added == null) {
            return null;
        }
        List<Long> removed = new ArrayList<>();
        int excess = hot.size() - limit;
        for (Iterator<Map.Entry<Long, Long>> it = hot.entrySet().iterator(); excess > 0 && it.hasNext(); ) {
            Map.Entry<Long, Long> entry = it.next();
            // Written before a flush that succeeded everywhere: durable on every replica. A hot extent that
            // is not settled stays, over the limit if need be (the log grows until a flush settles it).
            if (entry.getValue() < settledThrough) {
                removed.add(entry.getKey());
                it.remove();
                excess--;
            }
        }
        return new Marks(toArray(added), toArray(removed));
    }

    /** A flush is issued to every replica that takes writes; returns its number. */
    long flushIssued() {
        return ++flushesIssued;
    }

    /** Flush {@code number} succeeded on every replica that took writes. */
    void settled(long number) {
        settledThrough = Math.max(settledThrough, number);
    }

    /** The hot extents: what a replica that starts taking writes must have marked first. */
    long[] hot() {
        return toArray(hot.keySet());
    }

    private static long[] toArray(java.util.Collection<Long> extents) {
        return extents.stream().mapToLong(Long::longValue).toArray();
    }
}
