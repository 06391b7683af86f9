package io.ballast.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class SizesTest {

    @Test
    void parsesEveryUnitSpelling() {
        assertThat(Sizes.parse("4096")).isEqualTo(4096);
        assertThat(Sizes.parse("4K")).isEqualTo(4096);
        assertThat(Sizes.parse("4KiB")).isEqualTo(4096);
        assertThat(Sizes.parse("10M")).isEqualTo(10L << 20);
        assertThat(Sizes.parse("10MiB")).isEqualTo(10L << 20);
        assertThat(Sizes.parse("1G")).isEqualTo(1L << 30);
        assertThat(Sizes.parse("1gib")).isEqualTo(1L << 30);
        assertThat(Sizes.parse("1T")).isEqualTo(1L << 40);
        assertThat(Sizes.parse("2TiB")).isEqualTo(2L << 40);
    }

    @Test
    void rejectsWhatIsNotASize() {
        assertThatThrownBy(() -> Sizes.parse("ten")).hasMessageContaining("not a whole number");
        assertThatThrownBy(() -> Sizes.parse("10GB")).hasMessageContaining("units are binary");
        assertThatThrownBy(() -> Sizes.parse("1.5G")).hasMessageContaining("not a whole number");
        assertThatThrownBy(() -> Sizes.parse("-1G")).hasMessageContaining("not a whole number");
        assertThatThrownBy(() -> Sizes.parse("99999999999T")).hasMessageContaining("too large");
        assertThatThrownBy(() -> Sizes.parse("")).hasMessageContaining("missing");
    }

    @Test
    void volumeSizesAreWholeBlocks() {
        assertThat(Sizes.parseVolumeSize("1G")).isEqualTo(1L << 30);
        assertThatThrownBy(() -> Sizes.parseVolumeSize("4097")).hasMessageContaining("multiple of 4 KiB");
        assertThatThrownBy(() -> Sizes.parseVolumeSize("0")).hasMessageContaining("greater than zero");
        assertThat(Sizes.parseVolumeSize("16T")).isEqualTo(16L << 40);
        assertThatThrownBy(() -> Sizes.parseVolumeSize("17T")).hasMessageContaining("largest volume");
    }

    @Test
    void formatsInTheLargestExactUnit() {
        assertThat(Sizes.format(1L << 30)).isEqualTo("1 GiB");
        assertThat(Sizes.format(1536L << 20)).isEqualTo("1.5 GiB");
        assertThat(Sizes.format(512)).isEqualTo("512 B");
    }
}
