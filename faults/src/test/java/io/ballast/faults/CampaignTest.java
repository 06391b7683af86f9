package io.ballast.faults;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.EnumSet;
import org.junit.jupiter.api.Test;

/** The campaign's command line: what a user types, and the errors a wrong one gets. */
class CampaignTest {
    @Test
    void defaultsAreOneRunOfSixtySecondsOnThreeNodesWithEveryFault() {
        Campaign.Settings settings = Campaign.parse(new String[] {"--seed", "7"});
        assertThat(settings.seed()).isEqualTo(7);
        assertThat(settings.runs()).isEqualTo(1);
        assertThat(settings.durationSeconds()).isEqualTo(60);
        assertThat(settings.nodes()).isEqualTo(3);
        assertThat(settings.broken()).isFalse();
        assertThat(settings.faults()).isEqualTo(EnumSet.allOf(Nemesis.Kind.class));
    }

    @Test
    void faultsAreNamedAsTheUsageListsThem() {
        Campaign.Settings settings = Campaign.parse(new String[] {"--faults", "kill,slow-link,kill-mid-flush",
                "--nodes", "5", "--broken"});
        assertThat(settings.faults()).containsExactlyInAnyOrder(Nemesis.Kind.KILL, Nemesis.Kind.SLOW_LINK,
                Nemesis.Kind.KILL_MID_FLUSH);
        assertThat(settings.nodes()).isEqualTo(5);
        assertThat(settings.broken()).isTrue();
        assertThat(Campaign.usage()).contains("slow-link", "kill-mid-flush", "full-pool");
    }

    @Test
    void aWrongCommandLineSaysWhatIsWrong() {
        assertThatThrownBy(() -> Campaign.parse(new String[] {"--faults", "meteor"})).hasMessageContaining("meteor");
        assertThatThrownBy(() -> Campaign.parse(new String[] {"--nodes", "2"})).hasMessageContaining("3 to 9");
        assertThatThrownBy(() -> Campaign.parse(new String[] {"--runs", "0"})).hasMessageContaining("at least 1");
        assertThatThrownBy(() -> Campaign.parse(new String[] {"--duration", "ten"})).hasMessageContaining("number");
        assertThatThrownBy(() -> Campaign.parse(new String[] {"--seed"})).hasMessageContaining("needs a value");
        assertThatThrownBy(() -> Campaign.parse(new String[] {"--color", "red"})).hasMessageContaining("unknown");
    }
}
