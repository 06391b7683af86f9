package io.ballast.store;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.locks.StampedLock;
import org.roaringbitmap.IntIterator;
import org.roaringbitmap.RoaringBitmap;

/**
 * The set of 4 KiB block numbers a layer file holds. It is never persisted: the file's own
 * allocation is the record, and {@link Layer} rebuilds this index from SEEK_DATA/SEEK_HOLE
 * at open.
 *
 * <p>Block numbers are unsigned 32-bit, which bounds a volume at 16 TiB. RoaringBitmap is
 * not thread-safe, so every access goes through a StampedLock; critical sections are a few
 * nanoseconds of bitmap work, never IO.
 *
 * <p>Memory: single adds turn a densely written 64 Ki-block chunk into an 8 KiB bitmap
 * container (32 MiB per TiB). Run-length containers shrink sequential data to a few bytes
 * per chunk, so the index is run-optimized after every {@link #OPTIMIZE_INTERVAL} additions;
 * a run container stays a run container as it grows, so the cost is amortized.
 */
final class BlockIndex {
    static final int OPTIMIZE_INTERVAL = 1 << 16;
    /** Block numbers are unsigned 32-bit: [0, 2^32). */
    private static final long BLOCK_NUMBERS = 1L << 32;

    private final RoaringBitmap blocks = new RoaringBitmap();
    private final StampedLock lock = new StampedLock();
    private int addsSinceOptimize;

    boolean contains(long block) {
        long stamp = lock.readLock();
        try {
            return blocks.contains((int) block);
        } finally {
            lock.unlockRead(stamp);
        }
    }

    /** Whether any block of [first, end) is present. */
    boolean containsAny(long first, long end) {
        long stamp = lock.readLock();
        try {
            return blocks.intersects(first, end);
        } finally {
            lock.unlockRead(stamp);
        }
    }

    /** Returns whether the block was absent. */
    boolean add(long block) {
        long stamp = lock.writeLock();
        try {
            if (!blocks.checkedAdd((int) block)) {
                return false;
            }
            if (++addsSinceOptimize >= OPTIMIZE_INTERVAL) {
                addsSinceOptimize = 0;
                blocks.runOptimize();
            }
            return true;
        } finally {
            lock.unlockWrite(stamp);
        }
    }

    /** Returns whether the block was present. */
    boolean remove(long block) {
        long stamp = lock.writeLock();
        try {
            return blocks.checkedRemove((int) block);
        } finally {
            lock.unlockWrite(stamp);
        }
    }

    /** Adds [first, end) and returns how many of those blocks were absent. */
    long addRange(long first, long end) {
        long stamp = lock.writeLock();
        try {
            long absent = (end - first) - blocks.rangeCardinality(first, end);
            blocks.add(first, end);
            addsSinceOptimize += (int) Math.min(absent, OPTIMIZE_INTERVAL);
            if (addsSinceOptimize >= OPTIMIZE_INTERVAL) {
                addsSinceOptimize = 0;
                blocks.runOptimize();
            }
            return absent;
        } finally {
            lock.unlockWrite(stamp);
        }
    }

    long cardinality() {
        long stamp = lock.readLock();
        try {
            return blocks.getLongCardinality();
        } finally {
            lock.unlockRead(stamp);
        }
    }

    long sizeInBytes() {
        long stamp = lock.readLock();
        try {
            return blocks.getLongSizeInBytes();
        } finally {
            lock.unlockRead(stamp);
        }
    }

    /**
     * The byte ranges where at least one of the indexes holds a block, ascending, adjacent blocks
     * merged. Each index is copied under its own lock, so a concurrent writer only decides whether
     * its block shows; the runs are found a container at a time, not a block at a time.
     */
    static List<Extent> extentsOfUnion(List<BlockIndex> indexes) {
        RoaringBitmap union = new RoaringBitmap();
        for (BlockIndex index : indexes) {
            long stamp = index.lock.readLock();
            try {
                union.or(index.blocks);
            } finally {
                index.lock.unlockRead(stamp);
            }
        }
        List<Extent> extents = new ArrayList<>();
        long next = 0;
        while (next < BLOCK_NUMBERS) {
            long first = union.nextValue((int) next); // both take and give block numbers unsigned
            if (first < 0) {
                break;
            }
            long end = union.nextAbsentValue((int) first);
            if (end < 0) {
                end = BLOCK_NUMBERS; // the run reaches the last block number
            }
            extents.add(new Extent(first << Layer.SHIFT, (end - first) << Layer.SHIFT));
            next = end;
        }
        return extents;
    }

    /**
     * Iterates the blocks in ascending order. Only valid for an index that nobody modifies
     * meanwhile, that is a frozen layer under the pool's structure lock.
     */
    IntIterator frozenIterator() {
        return blocks.getIntIterator();
    }
}
