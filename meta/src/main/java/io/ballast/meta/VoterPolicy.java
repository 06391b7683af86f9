package io.ballast.meta;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Which nodes vote in the metadata group. One voter while the cluster is one or two hosts, three from
 * three hosts, five from seven: more voters survive more failures but make every write wait for a larger
 * majority. Every other node is a client of the group: its Raft server runs, outside the configuration,
 * ready to be seated, and it reads the state from the voters ({@link MetaStore#state}).
 *
 * <p>There are no Raft listeners: Ratis does not support turning a listener into a voter (RATIS-1825),
 * and a cluster that grows from two nodes to three, or from six to seven, must do exactly that. A node
 * goes from client straight to voter, which Ratis handles by copying the log to it before the change.
 *
 * <p>Pure: the membership controller on the leader calls it with the registered nodes and the current
 * membership and applies the answer through a Raft configuration change.
 */
public final class VoterPolicy {
    private VoterPolicy() {
    }

    /** How many voters a cluster of {@code nodes} registered nodes should have. */
    public static int targetVoters(int nodes) {
        return nodes >= 7 ? 5 : nodes >= 3 ? 3 : 1;
    }

    /**
     * The membership the group should have. Current voters that are up keep their seat (moving seats costs
     * a reconfiguration and a catch-up), then up nodes fill free seats in the order they registered. A down
     * voter keeps its seat while no up node can take it, so a seat is never left empty; it is replaced once
     * one can. Down nodes are never added, since Raft would wait for them to catch up. Voters that are no
     * longer registered are dropped, except {@code self}, which leads the group and cannot drop itself.
     * Raft listeners, which this policy never creates, are dropped by the next change.
     */
    public static Membership desired(Map<String, NodeRecord> nodes, Membership current, String self) {
        int target = targetVoters(nodes.size());
        Set<String> seated = new LinkedHashSet<>();
        for (MetaPeer voter : current.voters()) {
            NodeRecord node = nodes.get(voter.name());
            if ((node != null && node.up()) || voter.name().equals(self)) {
                seated.add(voter.name());
            }
        }
        List<NodeRecord> byAge = new ArrayList<>(nodes.values());
        byAge.sort(Comparator.comparingLong(NodeRecord::registeredAtMillis).thenComparing(NodeRecord::name));
        for (NodeRecord node : byAge) {
            if (seated.size() >= target) {
                break;
            }
            // A node that has not sent a heartbeat of its own yet (it is still starting) is not seated.
            if (node.up() && node.lastHeartbeatMillis() != 0) {
                seated.add(node.name());
            }
        }
        for (MetaPeer voter : current.voters()) {
            if (seated.size() >= target) {
                break;
            }
            if (nodes.containsKey(voter.name())) {
                seated.add(voter.name()); // down, but nobody up can take its seat
            }
        }
        // Too many seats (nodes were removed): give up the newest ones, never self's.
        List<String> voters = new ArrayList<>(seated);
        while (voters.size() > target) {
            int drop = voters.size() - 1;
            if (voters.get(drop).equals(self)) {
                drop--;
            }
            voters.remove(drop);
        }

        List<MetaPeer> voterPeers = new ArrayList<>();
        for (String name : voters) {
            voterPeers.add(peer(name, nodes, current));
        }
        return new Membership(voterPeers);
    }

    /**
     * One step from {@code current} towards {@code desired} that Raft accepts: it refuses a change that
     * replaces a majority of the voters at once (1 to 3 voters, say), so seats change one at a time: add
     * one voter, or else remove one. A removal takes a voter that is down or no longer registered first:
     * removing a live one while a dead one keeps its seat could leave the new set without a live majority
     * (3 voters with one dead, shrinking to 2 that include the dead one, can never commit again). A step
     * whose new voters would have no live majority is not taken at all: {@code current} is returned.
     */
    public static Membership nextStep(Membership current, Membership desired, Map<String, NodeRecord> nodes) {
        List<MetaPeer> voters = new ArrayList<>(current.voters());
        MetaPeer added = desired.voters().stream().filter(p -> !voters.contains(p)).findFirst().orElse(null);
        if (added != null) {
            voters.add(added);
        } else {
            voters.stream().filter(p -> !desired.voters().contains(p))
                    .min(Comparator.comparing((MetaPeer p) -> live(p, nodes)))
                    .ifPresent(voters::remove);
        }
        long liveVoters = voters.stream().filter(p -> live(p, nodes)).count();
        return liveVoters * 2 > voters.size() ? new Membership(voters) : current;
    }

    private static boolean live(MetaPeer peer, Map<String, NodeRecord> nodes) {
        NodeRecord node = nodes.get(peer.name());
        return node != null && node.up();
    }

    /** True when the two differ in anything Raft cares about: who votes, and where. */
    public static boolean differs(Membership a, Membership b) {
        return !Set.copyOf(a.voters()).equals(Set.copyOf(b.voters()));
    }

    private static MetaPeer peer(String name, Map<String, NodeRecord> nodes, Membership current) {
        NodeRecord node = nodes.get(name);
        if (node != null) {
            return MetaPeer.of(name, node.address(), node.raftPort());
        }
        // Only self can be a voter without a record (before it registers itself): keep its address.
        return current.voters().stream().filter(p -> p.name().equals(name)).findFirst()
                .orElseThrow(() -> new IllegalStateException("no address for metadata member " + name));
    }
}
