package io.ballast.store;

import java.util.concurrent.locks.ReentrantLock;

/**
 * Per-block mutual exclusion for read-modify-write on a head layer, shared by all replicas of
 * a pool so that 5,000 replicas do not each carry thousands of lock objects. Each replica
 * mixes in its own salt, so two replicas' hot blocks rarely share a stripe. Consecutive
 * blocks map to consecutive stripes and a range's stripes are always taken in ascending
 * order, so two threads locking overlapping ranges cannot deadlock.
 *
 * <p>A range of {@value #STRIPES} blocks or more takes every stripe, stalling every replica of
 * the pool; callers keep their ranges short (see {@link Replica#CHUNK_BLOCKS}).
 */
final class StripedLocks {
    private static final int STRIPES = 4096;
    private static final int MASK = STRIPES - 1;

    private final ReentrantLock[] locks = new ReentrantLock[STRIPES];

    StripedLocks() {
        for (int i = 0; i < STRIPES; i++) {
            locks[i] = new ReentrantLock();
        }
    }

    /** Locks every stripe of blocks [first, last], inclusive. */
    void lock(int salt, long first, long last) {
        if (last - first >= MASK) {
            lockSpan(0, MASK);
            return;
        }
        int from = (int) ((salt + first) & MASK);
        int to = (int) ((salt + last) & MASK);
        if (from <= to) {
            lockSpan(from, to);
        } else {
            lockSpan(0, to);
            lockSpan(from, MASK);
        }
    }

    void unlock(int salt, long first, long last) {
        if (last - first >= MASK) {
            unlockSpan(0, MASK);
            return;
        }
        int from = (int) ((salt + first) & MASK);
        int to = (int) ((salt + last) & MASK);
        if (from <= to) {
            unlockSpan(from, to);
        } else {
            unlockSpan(0, to);
            unlockSpan(from, MASK);
        }
    }

    /** How many stripes are locked right now, by any thread; lets tests see what a call holds. */
    int lockedStripes() {
        int n = 0;
        for (ReentrantLock lock : locks) {
            if (lock.isLocked()) {
                n++;
            }
        }
        return n;
    }

    private void lockSpan(int from, int to) {
        for (int i = from; i <= to; i++) {
            locks[i].lock();
        }
    }

    private void unlockSpan(int from, int to) {
        for (int i = to; i >= from; i--) {
            locks[i].unlock();
        }
    }
}
