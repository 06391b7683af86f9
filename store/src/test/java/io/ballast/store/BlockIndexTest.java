package io.ballast.store;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

class BlockIndexTest {
    private static final long TIB_BLOCKS = (1L << 40) / 4096; // 268,435,456
    private static final long LIMIT = 25L * 1000 * 1000;

    @Test
    void oneTebibyteWrittenBlockByBlockStaysUnder25MB() {
        BlockIndex index = new BlockIndex();
        for (long b = 0; b < TIB_BLOCKS; b++) {
            index.add(b);
        }
        assertThat(index.cardinality()).isEqualTo(TIB_BLOCKS);
        System.out.println("index of 1 TiB written sequentially: " + index.sizeInBytes() + " bytes");
        assertThat(index.sizeInBytes()).isLessThan(LIMIT);
    }

    @Test
    void oneTebibyteRebuiltFromExtentsStaysUnder25MB() {
        BlockIndex index = new BlockIndex();
        // As rebuilt at open from SEEK_DATA: 1 MiB extents with small gaps between them.
        for (long b = 0; b < TIB_BLOCKS; b += 264) {
            index.addRange(b, Math.min(TIB_BLOCKS, b + 256));
        }
        System.out.println("index of 1 TiB in 1 MiB extents: " + index.sizeInBytes() + " bytes");
        assertThat(index.sizeInBytes()).isLessThan(LIMIT);
    }

    @Test
    void addRemoveReportChanges() {
        BlockIndex index = new BlockIndex();
        assertThat(index.add(7)).isTrue();
        assertThat(index.add(7)).isFalse();
        assertThat(index.contains(7)).isTrue();
        long top = (1L << 32) - 1; // block numbers are unsigned 32-bit
        assertThat(index.add(top)).isTrue();
        assertThat(index.contains(top)).isTrue();
        assertThat(index.remove(7)).isTrue();
        assertThat(index.remove(7)).isFalse();
        assertThat(index.addRange(0, 10)).isEqualTo(10);
        assertThat(index.cardinality()).isEqualTo(11);
    }

    /** Block numbers are unsigned: runs past 2^31, and one that reaches the last number, are kept whole. */
    @Test
    void theUnionsExtentsSpanTheWholeUnsignedRange() {
        long top = (1L << 32) - 1;
        BlockIndex lower = new BlockIndex();
        lower.addRange(0, 2);
        lower.addRange((1L << 31) - 1, (1L << 31) + 1);
        lower.add(top - 2);
        BlockIndex upper = new BlockIndex();
        upper.add(2);
        upper.add(5);
        upper.addRange(top - 1, top + 1);
        assertThat(BlockIndex.extentsOfUnion(List.of(upper, lower))).containsExactly(
                blocks(0, 3), blocks(5, 1), blocks((1L << 31) - 1, 2), blocks(top - 2, 3));
        assertThat(BlockIndex.extentsOfUnion(List.of(new BlockIndex()))).isEmpty();
        assertThat(index(top).containsAny(top, top + 1)).isTrue();
        assertThat(index(top).containsAny(0, top)).isFalse();
    }

    private static BlockIndex index(long block) {
        BlockIndex index = new BlockIndex();
        index.add(block);
        return index;
    }

    private static Extent blocks(long first, long count) {
        return new Extent(first * 4096, count * 4096);
    }
}
