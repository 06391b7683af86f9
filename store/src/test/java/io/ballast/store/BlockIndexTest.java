package io.ballast.store;

import static org.assertj.core.api.Assertions.assertThat;

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
}
