package io.ballast.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class VolumeSpecTest {

    @Test
    void inlineSpecFillsEveryField() {
        VolumeSpec spec = VolumeSpec.parseInline("name=db,size=10G,repl=2,cos=3,fs=xfs").withDefaults();
        assertThat(spec.name()).isEqualTo("db");
        assertThat(spec.sizeBytes()).isEqualTo(10L << 30);
        assertThat(spec.repl()).isEqualTo(2);
        assertThat(spec.cos()).isEqualTo("high");
        assertThat(spec.fs()).isEqualTo("xfs");
    }

    @Test
    void defaultsAreOneExt4ReplicaOfNoRequestedClass() {
        VolumeSpec spec = VolumeSpec.parseInline("name=db,size=1G").withDefaults();
        assertThat(spec.repl()).isEqualTo(1);
        assertThat(spec.cos()).as("placement chooses the class").isNull();
        assertThat(spec.fs()).isEqualTo("ext4");
    }

    @Test
    void malformedInlineSpecsSayWhatIsWrong() {
        assertThatThrownBy(() -> VolumeSpec.parseInline("name=db,size")).hasMessageContaining("not KEY=VALUE");
        assertThatThrownBy(() -> VolumeSpec.parseInline("name=db,size=1G,colour=red")).hasMessageContaining("unknown key 'colour'");
        assertThatThrownBy(() -> VolumeSpec.parseInline("name=db,name=x,size=1G")).hasMessageContaining("given twice");
        assertThatThrownBy(() -> VolumeSpec.parseInline("size=1G")).hasMessageContaining("needs at least name");
        assertThatThrownBy(() -> VolumeSpec.parseInline("name=db,size=1G,repl=two")).hasMessageContaining("not a number");
        assertThatThrownBy(() -> VolumeSpec.parseInline("name=db,size=1G,repl=4").withDefaults()).hasMessageContaining("repl 4");
        assertThatThrownBy(() -> VolumeSpec.parseInline("name=db,size=1G,cos=gold").withDefaults()).hasMessageContaining("cos 'gold'");
        assertThatThrownBy(() -> VolumeSpec.parseInline("name=d b,size=1G").withDefaults()).hasMessageContaining("not valid");
    }
}
