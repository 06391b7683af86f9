package io.ballast.replication;

import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * Region locks of one volume, striped: requests that write a region hold its stripe shared, and the
 * copier of a resync (or a verify) holds it exclusively while it compares and copies, so a region is
 * never copied while a write to it is in flight on any replica. Stripes are always taken in ascending
 * order, so two holders of several never deadlock.
 */
final class RegionLocks {
    private static final int STRIPES = 1024; // a power of two

    private final ReentrantReadWriteLock[] stripes = new ReentrantReadWriteLock[STRIPES];

    RegionLocks() {
        for (int i = 0; i < STRIPES; i++) {
            stripes[i] = new ReentrantReadWriteLock();
        }
    }

    void lockShared(long firstRegion, long lastRegion) {
        forEach(firstRegion, lastRegion, s -> s.readLock().lock());
    }

    void unlockShared(long firstRegion, long lastRegion) {
        forEach(firstRegion, lastRegion, s -> s.readLock().unlock());
    }

    void lockExclusive(long firstRegion, long lastRegion) {
        forEach(firstRegion, lastRegion, s -> s.writeLock().lock());
    }

    void unlockExclusive(long firstRegion, long lastRegion) {
        forEach(firstRegion, lastRegion, s -> s.writeLock().unlock());
    }

    /** The stripes of regions first..last, each once, in ascending stripe order. */
    private void forEach(long firstRegion, long lastRegion, java.util.function.Consumer<ReentrantReadWriteLock> action) {
        if (lastRegion - firstRegion + 1 >= STRIPES) {
            for (ReentrantReadWriteLock s : stripes) {
                action.accept(s);
            }
            return;
        }
        int from = (int) (firstRegion & (STRIPES - 1));
        int to = (int) (lastRegion & (STRIPES - 1));
        if (from <= to) {
            for (int i = from; i <= to; i++) {
                action.accept(stripes[i]);
            }
        } else { // wraps around: take 0..to first, then from..end, to stay in ascending order
            for (int i = 0; i <= to; i++) {
                action.accept(stripes[i]);
            }
            for (int i = from; i < STRIPES; i++) {
                action.accept(stripes[i]);
            }
        }
    }
}
