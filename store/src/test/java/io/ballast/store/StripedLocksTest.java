package io.ballast.store;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class StripedLocksTest {

    @Test
    void aRangeLocksOneStripePerBlockAndAHugeOneLocksThemAll() {
        StripedLocks locks = new StripedLocks();
        assertLocks(locks, 5, 0, 9, 10);
        assertLocks(locks, 4090, 0, 9, 10); // wraps around the end of the stripes
        assertLocks(locks, 0, 1000, 1000 + Replica.CHUNK_BLOCKS - 1, Replica.CHUNK_BLOCKS);
        assertLocks(locks, 7, 100, 100 + 4094, 4095);
        assertLocks(locks, 7, 100, 100 + 4095, 4096);
        assertLocks(locks, 7, 0, 1L << 30, 4096);
    }

    private static void assertLocks(StripedLocks locks, int salt, long first, long last, int stripes) {
        locks.lock(salt, first, last);
        assertThat(locks.lockedStripes()).as("blocks %d..%d", first, last).isEqualTo(stripes);
        locks.unlock(salt, first, last);
        assertThat(locks.lockedStripes()).isZero();
    }
}
