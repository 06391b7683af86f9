package io.ballast.store;

import java.util.concurrent.atomic.AtomicLong;

/**
 * The pool's capacity accounting, in 4 KiB blocks. Writers reserve the blocks they are about
 * to allocate before touching any file, so a full pool is refused up front and nothing
 * already written is disturbed. After every completed operation the count equals the sum of
 * the layer indexes' cardinalities.
 */
final class Space {
    private final long capacityBlocks;
    private final AtomicLong usedBlocks = new AtomicLong();

    Space(long capacityBytes) {
        this.capacityBlocks = capacityBytes / Layer.BLOCK;
    }

    long capacityBytes() {
        return capacityBlocks * Layer.BLOCK;
    }

    long usedBytes() {
        return usedBlocks.get() * Layer.BLOCK;
    }

    void reserve(long blocks) throws PoolFullException {
        if (blocks == 0) {
            return;
        }
        long used;
        do {
            used = usedBlocks.get();
            if (used + blocks > capacityBlocks) {
                throw new PoolFullException("pool needs " + blocks + " more blocks, "
                        + (capacityBlocks - used) + " of " + capacityBlocks + " free");
            }
        } while (!usedBlocks.compareAndSet(used, used + blocks));
    }

    /** Accounts blocks that exist whatever the capacity: found at open, or copied by a merge. */
    void charge(long blocks) {
        usedBlocks.addAndGet(blocks);
    }

    void release(long blocks) {
        usedBlocks.addAndGet(-blocks);
    }
}
