package io.ballast.store;

import static io.ballast.store.PoolTest.filled;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The extents a full rebuild copies: every block some layer of the chain holds, and no other. */
class AllocatedExtentsTest {
    private static final int BLOCK = 4096;

    @TempDir
    Path dir;

    @Test
    void writesShowAsWholeBlocksWithNeighboursMerged() throws IOException {
        try (Pool pool = Pool.open(dir, 0)) {
            Replica r = pool.create("v", 64 * BLOCK);
            assertThat(r.allocatedExtents()).isEmpty();
            r.write(0, filled(3 * BLOCK, 1), false);
            r.write(5L * BLOCK + 100, filled(10, 2), false);
            r.write(6L * BLOCK, filled(BLOCK, 3), false);
            r.write(10L * BLOCK + 4000, filled(200, 4), false); // two blocks, partly each
            r.write(63L * BLOCK, filled(BLOCK, 5), false);
            assertThat(r.allocatedExtents()).containsExactly(blocks(0, 3), blocks(5, 2), blocks(10, 2), blocks(63, 1));
        }
    }

    @Test
    void trimAndZeroingGiveBlocksBack() throws IOException {
        try (Pool pool = Pool.open(dir, 0)) {
            Replica r = pool.create("v", 64 * BLOCK);
            r.write(0, filled(8 * BLOCK, 1), false);
            r.trim(BLOCK, BLOCK);
            r.writeZeroes(4L * BLOCK, 2L * BLOCK, false);
            r.trim(7L * BLOCK + 1, BLOCK); // no whole block: nothing changes
            assertThat(r.allocatedExtents()).containsExactly(blocks(0, 1), blocks(2, 2), blocks(6, 2));
        }
    }

    @Test
    void theUnionOfTheChainCountsAndAClonesBaseToo() throws IOException {
        try (Pool pool = Pool.open(dir, 0)) {
            Replica r = pool.create("v", 64 * BLOCK);
            r.write(0, filled(2 * BLOCK, 1), false);
            r.snapshot("s");
            r.write(2L * BLOCK, filled(2 * BLOCK, 2), false);
            r.write(20L * BLOCK, filled(BLOCK, 3), false);
            assertThat(r.allocatedExtents()).containsExactly(blocks(0, 4), blocks(20, 1));
            // Blocks of zeroes in the head shadow the snapshot's: the block is still held.
            r.trim(0, BLOCK);
            assertThat(r.allocatedExtents()).containsExactly(blocks(0, 4), blocks(20, 1));

            Replica clone = pool.cloneFrom("v", "s", "c");
            assertThat(clone.allocatedExtents()).containsExactly(blocks(0, 2));
            r.restore("s");
            assertThat(r.allocatedExtents()).containsExactly(blocks(0, 2));
        }
    }

    /** Block numbers are unsigned 32-bit: block 2^31 is negative as an int. */
    @Test
    void blocksBeyondEightTebibytes() throws IOException {
        try (Pool pool = Pool.open(dir, 0)) {
            long first = 1L << 31;
            Replica r = pool.create("v", (first + 4) * BLOCK);
            r.write((first - 1) * BLOCK, filled(2 * BLOCK, 1), false);
            r.write((first + 3) * BLOCK, filled(BLOCK, 2), false);
            assertThat(r.allocatedExtents()).containsExactly(blocks(first - 1, 2), blocks(first + 3, 1));
        }
    }

    private static Extent blocks(long first, long count) {
        return new Extent(first * BLOCK, count * BLOCK);
    }
}
