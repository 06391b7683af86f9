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
 * majority. Every other registered node is a listener, so that each node reads the state locally.
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
     * one can. Down nodes are never added, since Raft would wait for them to catch up. Members that are no
     * longer registered are dropped, except {@code self}, which leads the group and cannot drop itself.
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
            if (node.up()) {
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
        List<MetaPeer> listeners = new ArrayList<>();
        for (NodeRecord node : byAge) {
            if (voters.contains(node.name())) {
                continue;
            }
            if (node.up() || current.isMember(node.name())) {
                listeners.add(peer(node.name(), nodes, current));
            }
        }
        return new Membership(voterPeers, listeners);
    }

    /**
     * One step from {@code current} towards {@code desired} that Raft accepts: it refuses a change that
     * replaces a majority of the voters at once (1 to 3 voters, say), so seats change one at a time: add
     * one voter, or else remove one. Listeners go straight to where they should be. Returns
     * {@code desired} itself once it is one step away.
     */
    public static Membership nextStep(Membership current, Membership desired) {
        List<MetaPeer> voters = new ArrayList<>(current.voters());
        MetaPeer added = desired.voters().stream().filter(p -> !voters.contains(p)).findFirst().orElse(null);
        if (added != null) {
            voters.add(added);
        } else {
            voters.stream().filter(p -> !desired.voters().contains(p)).findFirst().ifPresent(voters::remove);
        }
        List<MetaPeer> listeners = new ArrayList<>(desired.listeners());
        // A voter that is still to be demoted keeps its seat this step, so it is not also a listener; one
        // that waits to be promoted stays a listener until then.
        listeners.removeIf(voters::contains);
        for (MetaPeer p : desired.voters()) {
            if (!voters.contains(p) && !listeners.contains(p) && current.isMember(p.name())) {
                listeners.add(p);
            }
        }
        return new Membership(voters, listeners);
    }

    /** True when the two differ in anything Raft cares about: who votes, who listens, and where. */
    public static boolean differs(Membership a, Membership b) {
        return !Set.copyOf(a.voters()).equals(Set.copyOf(b.voters()))
                || !Set.copyOf(a.listeners()).equals(Set.copyOf(b.listeners()));
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
