package io.ballast.meta;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class VoterPolicyTest {
    private static NodeRecord node(String name, long registeredAt, boolean up) {
        NodeRecord n = new NodeRecord(name, "127.0.0.1", 1, 2, 3, 9000 + (int) registeredAt, Map.of(), registeredAt, 1_000 + registeredAt);
        return up ? n : n.withState(NodeRecord.DOWN);
    }

    private static Map<String, NodeRecord> nodes(NodeRecord... records) {
        Map<String, NodeRecord> map = new LinkedHashMap<>();
        for (NodeRecord r : records) {
            map.put(r.name(), r);
        }
        return map;
    }

    private static Membership voters(Map<String, NodeRecord> nodes, String... names) {
        return new Membership(List.of(names).stream()
                .map(n -> MetaPeer.of(n, "127.0.0.1", nodes.get(n).raftPort())).toList());
    }

    /** Applies steps until nothing changes, as the controller does tick after tick. */
    private static Membership converge(Map<String, NodeRecord> nodes, Membership start, String self) {
        Membership current = start;
        for (int i = 0; i < 10; i++) {
            Membership desired = VoterPolicy.desired(nodes, current, self);
            Membership next = VoterPolicy.nextStep(current, desired, nodes);
            if (next.equals(current)) {
                return current;
            }
            // Each step adds or removes exactly one voter: what Raft accepts.
            assertThat(Math.abs(next.voters().size() - current.voters().size())).isEqualTo(1);
            current = next;
        }
        throw new AssertionError("did not converge");
    }

    @Test
    void votersGrowOneThreeFive() {
        assertThat(VoterPolicy.targetVoters(1)).isEqualTo(1);
        assertThat(VoterPolicy.targetVoters(2)).isEqualTo(1);
        assertThat(VoterPolicy.targetVoters(3)).isEqualTo(3);
        assertThat(VoterPolicy.targetVoters(6)).isEqualTo(3);
        assertThat(VoterPolicy.targetVoters(7)).isEqualTo(5);
        Map<String, NodeRecord> three = nodes(node("n1", 1, true), node("n2", 2, true), node("n3", 3, true));
        assertThat(converge(three, voters(three, "n1"), "n1").voterNames()).containsExactly("n1", "n2", "n3");
    }

    @Test
    void aDeadVoterLeavesBeforeALiveOne() {
        // n3 died and was removed: two nodes left, so one voter. Removing n2 first would leave [n1, n3],
        // which can never commit again.
        Map<String, NodeRecord> all = nodes(node("n1", 1, true), node("n2", 2, true), node("n3", 3, false));
        Membership start = voters(all, "n1", "n2", "n3");
        Map<String, NodeRecord> afterRemove = nodes(node("n1", 1, true), node("n2", 2, true));
        Membership step = VoterPolicy.nextStep(start, VoterPolicy.desired(afterRemove, start, "n1"), afterRemove);
        assertThat(step.voterNames()).containsExactlyInAnyOrder("n1", "n2");
        assertThat(converge(afterRemove, start, "n1").voterNames()).containsExactly("n1");
    }

    @Test
    void noStepLeavesTheVotersWithoutALiveMajority() {
        // 3 voters, two of them down: any change would need them; wait instead.
        Map<String, NodeRecord> all = nodes(node("n1", 1, true), node("n2", 2, false), node("n3", 3, false),
                node("n4", 4, true));
        Membership start = voters(all, "n1", "n2", "n3");
        assertThat(VoterPolicy.nextStep(start, VoterPolicy.desired(all, start, "n1"), all)).isEqualTo(start);
    }

    @Test
    void aDownVoterIsReplacedByAnUpNode() {
        Map<String, NodeRecord> all = nodes(node("n1", 1, true), node("n2", 2, true), node("n3", 3, false),
                node("n4", 4, true));
        Membership end = converge(all, voters(all, "n1", "n2", "n3"), "n1");
        assertThat(end.voterNames()).containsExactlyInAnyOrder("n1", "n2", "n4");
    }

    @Test
    void aNodeThatHasNotSentAHeartbeatYetIsNotSeated() {
        NodeRecord starting = new NodeRecord("n3", "127.0.0.1", 1, 2, 3, 9003, Map.of(), 3, 0);
        Map<String, NodeRecord> all = nodes(node("n1", 1, true), node("n2", 2, true), starting);
        Membership desired = VoterPolicy.desired(all, voters(all, "n1"), "n1");
        assertThat(desired.voterNames()).containsExactly("n1", "n2");
    }
}
