package io.ballast.node;

import io.ballast.api.ErrorCodes;
import io.ballast.api.Sizes;
import io.ballast.api.VolumeSpec;
import io.ballast.meta.ClusterState;
import io.ballast.meta.NodeRecord;
import io.ballast.meta.PoolRecord;
import io.ballast.meta.ReplicaRecord;
import io.ballast.meta.VolumeRecord;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Predicate;

/**
 * Chooses the pools that hold a volume's replicas.
 *
 * <p>The rules, in order of strength:
 * <ol>
 *   <li>hard: one replica per node, only on nodes that are up, only on the nodes, zones and racks the
 *       spec allows, only on pools of one class of service with room for the volume under the
 *       overcommit limit;
 *   <li>spread: as many distinct zones as possible, then as many distinct racks (a zone is the larger
 *       failure domain, so a second zone is worth more than a second rack);
 *   <li>room: the pool with the most room, ties broken by pool id so the choice is deterministic.
 * </ol>
 *
 * <p>The spread is chosen greedily: each replica goes to a new zone if any candidate offers one, else
 * to a new rack, else anywhere. With one replica per node and zones made of racks, that always reaches
 * the maximum number of zones and then of racks (a pick in a new zone is also in a new rack, and every
 * rack not yet used still has an unused candidate); PlacementTest checks it against brute force.
 * Among the candidates that add as much spread, the roomiest wins; for up to three replicas that
 * also means no chosen node could be traded for a roomier one without losing spread (also checked).
 *
 * <p>When no placement exists the error says what was needed and what was found, node by node, in one
 * line of bounded length.
 */
final class Placement {
    /** Names listed per kind of reason in an error; the rest are counted, so errors stay one short line. */
    private static final int MAX_NAMES = 10;

    private final double overcommit;

    Placement(double overcommit) {
        this.overcommit = overcommit;
    }

    /**
     * A pool chosen for one replica, and its class of service: when the spec named no class, this is
     * the class placement chose, which the caller records as the volume's.
     */
    record Choice(String node, String poolId, String cos) {}

    /**
     * Places the {@code spec.repl()} replicas of a new volume. When the spec names no class of service,
     * all replicas get the cheapest class (low, then medium, then high) that can hold every one of them:
     * a volume that did not ask for premium storage should not take it from those that did.
     */
    List<Choice> place(VolumeSpec spec, ClusterState state) {
        Request request = new Request(spec.repl(), spec.sizeBytes(), false, spec.nodes(), spec.zones(), spec.racks(),
                Set.of(), List.of());
        return place(request, spec.cos(), state);
    }

    /**
     * Places {@code count} more replicas of an existing volume ({@code volume ha-update}): in the
     * volume's class, never on a node that already holds one of its replicas, and spread away from the
     * zones and racks those replicas are in.
     */
    List<Choice> placeMore(VolumeRecord volume, int count, ClusterState state) {
        if (count < 0) {
            throw new IllegalArgumentException("cannot place " + count + " replicas");
        }
        if (count == 0) {
            return List.of();
        }
        Set<String> holding = new LinkedHashSet<>();
        List<NodeRecord> existing = new ArrayList<>();
        for (ReplicaRecord replica : volume.replicas()) {
            // Every replica counts, whatever its state: a stale or failed one still occupies its node
            // until it is removed, and a second replica on that node would share its fate.
            if (holding.add(replica.node()) && state.nodes().containsKey(replica.node())) {
                existing.add(state.nodes().get(replica.node()));
            }
        }
        Request request = new Request(count, volume.sizeBytes(), true, List.of(), List.of(), List.of(), holding,
                existing);
        return place(request, volumeClass(volume, state), state);
    }

    /** Refuses to grow a volume beyond what its pools may still promise. */
    void checkGrowth(VolumeRecord volume, long newSize, ClusterState state) {
        Map<String, Long> provisioned = provisionedByPool(state);
        long growth = newSize - volume.sizeBytes();
        for (ReplicaRecord replica : volume.replicas()) {
            PoolRecord pool = state.pools().get(replica.pool());
            if (pool != null && room(pool, provisioned) < growth) {
                throw new ApiException(ErrorCodes.NO_SPACE, "volume " + volume.name() + " cannot grow by "
                        + Sizes.format(growth) + ": pool " + pool.id() + " on " + pool.node() + " has "
                        + Sizes.format(Math.max(0, room(pool, provisioned))) + " of room (" + fmt(overcommit)
                        + " times its capacity, less what its volumes were promised)");
            }
        }
    }

    static Map<String, Long> provisionedByPool(ClusterState state) {
        Map<String, Long> provisioned = new HashMap<>();
        for (VolumeRecord volume : state.volumes().values()) {
            volume.replicas().forEach(r -> provisioned.merge(r.pool(), volume.sizeBytes(), Long::sum));
        }
        return provisioned;
    }

    // ---- the search ----------------------------------------------------------------------

    /**
     * What to place: {@code count} replicas of {@code size} bytes on nodes the filters allow, not on
     * {@code holding}, spread away from {@code existing} (the nodes of replicas already placed).
     */
    private record Request(int count, long size, boolean more, List<String> nodes, List<String> zones,
                           List<String> racks, Set<String> holding, List<NodeRecord> existing) {
        boolean allows(NodeRecord node) {
            if (!nodes.isEmpty() && !nodes.contains(node.name())) {
                return false;
            }
            // A node without the label is in no zone (rack) the user can name: filters match labels only.
            // Rack names are matched on their own, so --racks r1 means r1 in whichever zone.
            String zone = node.label("zone");
            String rack = node.label("rack");
            if (!zones.isEmpty() && (zone == null || !zones.contains(zone))) {
                return false;
            }
            return racks.isEmpty() || rack != null && racks.contains(rack);
        }
    }

    /** A node that can take a replica now, with its roomiest pool of the class. */
    private record Candidate(NodeRecord node, PoolRecord pool, long room) {}

    /**
     * The failure domains of a node. A node without a zone label is in the one unknown zone (null) that
     * all unlabeled nodes share, not in a zone of its own: nothing says two unlabeled nodes are apart,
     * and counting each as a zone would make placement prefer them over nodes known to be in different
     * zones. Likewise an unlabeled rack is the unknown rack of its zone. Null never equals a real label,
     * so a zone actually named "unknown" stays distinct. A rack is the pair (zone, rack) because rack
     * names are only unique within a zone.
     */
    private record Domain(String zone, String rack) {
        static Domain of(NodeRecord node) {
            return new Domain(node.label("zone"), node.label("rack"));
        }
    }

    /** The nodes surveyed for one class of service: the candidates, and why every other node is not one. */
    private static final class Survey {
        final String cos;
        final List<Candidate> candidates = new ArrayList<>();
        final List<String> holding = new ArrayList<>();
        final List<String> unknown = new ArrayList<>();
        final List<String> noPool = new ArrayList<>();
        final List<String> tooSmall = new ArrayList<>();
        final List<String> down = new ArrayList<>();
        final List<String> noRoom = new ArrayList<>();
        int outside;
        long mostRoom = Long.MIN_VALUE;
        /** Down nodes whose pools have room now: with them up, they would be candidates. */
        int downWithRoom;
        /** Allowed nodes (up or down) with a pool of the class that could hold the volume were it empty. */
        int couldEver;

        Survey(String cos) {
            this.cos = cos;
        }

        /** Why placement failed, as an API error code. */
        String code(int count) {
            if (couldEver < count) {
                return ErrorCodes.INVALID;      // no change in use can help: the request itself is too much
            }
            if (candidates.size() + downWithRoom >= count) {
                return ErrorCodes.UNAVAILABLE;  // it would fit once the down nodes are back
            }
            return ErrorCodes.NO_SPACE;
        }
    }

    private List<Choice> place(Request request, String cos, ClusterState state) {
        Map<String, Long> provisioned = provisionedByPool(state);
        List<Survey> surveys = new ArrayList<>();
        for (String klass : cos == null ? VolumeSpec.CLASSES : List.of(cos)) {  // CLASSES is cheapest first
            Survey survey = survey(request, klass, state, provisioned);
            // Spreading is a preference, never a requirement: enough candidates is enough.
            if (survey.candidates.size() >= request.count()) {
                return choose(request, survey);
            }
            surveys.add(survey);
        }
        if (cos == null) {
            // No class was asked for and none can hold every replica: any pools will do (the volume then
            // records the lowest class it got). One disk measured by several daemons at once, say, can land
            // in two classes, and a volume that did not ask must not fail for it.
            Survey anyClass = survey(request, null, state, provisioned);
            if (anyClass.candidates.size() >= request.count()) {
                return choose(request, anyClass);
            }
        }
        throw failure(request, cos, surveys);
    }

    private Survey survey(Request request, String cos, ClusterState state, Map<String, Long> provisioned) {
        Map<String, List<PoolRecord>> poolsByNode = new HashMap<>();
        for (PoolRecord pool : state.pools().values()) {
            if (cos == null || pool.cos().equals(cos)) {
                poolsByNode.computeIfAbsent(pool.node(), n -> new ArrayList<>()).add(pool);
            }
        }
        Survey survey = new Survey(cos);
        for (String name : request.nodes()) {
            if (!state.nodes().containsKey(name)) {
                survey.unknown.add(name);
            }
        }
        for (NodeRecord node : state.nodes().values()) {
            String name = node.name();
            if (request.holding().contains(name)) {
                survey.holding.add(name);
                continue;
            }
            if (!request.allows(node)) {
                survey.outside++;
                continue;
            }
            List<PoolRecord> pools = poolsByNode.getOrDefault(name, List.of());
            if (pools.isEmpty()) {
                survey.noPool.add(name);
                continue;
            }
            PoolRecord best = null;
            long bestRoom = Long.MIN_VALUE;
            boolean everFits = false;
            for (PoolRecord pool : pools) {
                everFits |= promisable(pool) >= request.size();
                long room = room(pool, provisioned);
                if (best == null || room > bestRoom || room == bestRoom && pool.id().compareTo(best.id()) < 0) {
                    best = pool;
                    bestRoom = room;
                }
            }
            if (!everFits) {
                // Said before down or full: no deleting or waiting helps.
                survey.tooSmall.add(name);
                continue;
            }
            survey.couldEver++;
            boolean fits = bestRoom >= request.size();
            if (!node.up()) {
                // Said before lack of room: a down node is the thing to fix first.
                survey.down.add(name);
                if (fits) {
                    survey.downWithRoom++;
                }
            } else if (!fits) {
                survey.noRoom.add(name);
                survey.mostRoom = Math.max(survey.mostRoom, bestRoom);
            } else {
                survey.candidates.add(new Candidate(node, best, bestRoom));
            }
        }
        return survey;
    }

    /** Picks {@code request.count()} of the survey's candidates: new zones first, then new racks, then room. */
    private static List<Choice> choose(Request request, Survey survey) {
        List<Candidate> remaining = new ArrayList<>(survey.candidates);
        remaining.sort(Comparator.comparingLong(Candidate::room).reversed().thenComparing(c -> c.pool().id()));
        Set<String> zones = new HashSet<>();      // holds null: the unknown zone
        Set<Domain> racks = new HashSet<>();
        for (NodeRecord node : request.existing()) {
            zones.add(Domain.of(node).zone());
            racks.add(Domain.of(node));
        }
        List<Choice> choices = new ArrayList<>();
        while (choices.size() < request.count()) {
            Candidate pick = first(remaining, c -> !zones.contains(Domain.of(c.node()).zone()));
            if (pick == null) {
                pick = first(remaining, c -> !racks.contains(Domain.of(c.node())));
            }
            if (pick == null) {
                pick = remaining.getFirst();
            }
            remaining.remove(pick);
            zones.add(Domain.of(pick.node()).zone());
            racks.add(Domain.of(pick.node()));
            choices.add(new Choice(pick.node().name(), pick.pool().id(), pick.pool().cos()));
        }
        return List.copyOf(choices);
    }

    private static Candidate first(List<Candidate> candidates, Predicate<Candidate> test) {
        for (Candidate candidate : candidates) {
            if (test.test(candidate)) {
                return candidate;
            }
        }
        return null;
    }

    // ---- errors ------------------------------------------------------------------------------

    /**
     * One line: what was needed, what was found, and why each other node is no candidate, e.g.
     * {@code need 3 nodes with a high pool and room for 10 GiB; found 2: node1, node2 (node3 is down;
     * node4 has no high pool)}. Without a requested class, the class that came closest is explained.
     */
    private ApiException failure(Request request, String cos, List<Survey> surveys) {
        int count = request.count();
        StringBuilder message = new StringBuilder("need ").append(count).append(request.more() ? " more" : "")
                .append(count == 1 ? " node" : " nodes");
        Survey shown;
        String code;
        if (cos != null) {
            shown = surveys.getFirst();
            code = shown.code(count);
            message.append(" with a ").append(cos).append(" pool");
        } else {
            shown = closest(surveys);
            code = worst(surveys, count);
            message.append(count == 1 ? " with a pool" : " with pools of one class");
        }
        message.append(" and room for ").append(Sizes.format(request.size())).append("; ");
        if (cos == null) {
            message.append("the closest class is ").append(shown.cos).append(": ");
        }
        message.append("found ");
        if (shown.candidates.isEmpty()) {
            message.append("none");
        } else {
            message.append(shown.candidates.size()).append(": ")
                    .append(names(shown.candidates.stream().map(c -> c.node().name()).toList()));
        }
        List<String> reasons = new ArrayList<>();
        if (!shown.holding.isEmpty()) {
            reasons.add(names(shown.holding) + (shown.holding.size() == 1 ? " already holds" : " already hold")
                    + " a replica");
        }
        if (!shown.unknown.isEmpty()) {
            reasons.add("no node is named " + names(shown.unknown));
        }
        if (shown.outside > 0) {
            reasons.add(shown.outside + (shown.outside == 1 ? " node is" : " nodes are")
                    + " outside the nodes, zones and racks asked for");
        }
        if (!shown.down.isEmpty()) {
            reasons.add(names(shown.down) + (shown.down.size() == 1 ? " is down" : " are down"));
        }
        if (!shown.noPool.isEmpty()) {
            reasons.add(names(shown.noPool) + (shown.noPool.size() == 1 ? " has no " : " have no ") + shown.cos
                    + " pool");
        }
        if (!shown.tooSmall.isEmpty()) {
            reasons.add(names(shown.tooSmall) + (shown.tooSmall.size() == 1 ? " has" : " have") + " no " + shown.cos
                    + " pool big enough, even empty");
        }
        if (!shown.noRoom.isEmpty()) {
            // The most any of them has: enough to tell "nearly" from "full" without a list of sizes.
            reasons.add(names(shown.noRoom) + (shown.noRoom.size() == 1 ? " has" : " have") + " at most "
                    + Sizes.format(Math.max(0, shown.mostRoom)) + " of room");
        }
        if (!reasons.isEmpty()) {
            message.append(" (").append(String.join("; ", reasons)).append(")");
        }
        if (!shown.noRoom.isEmpty() || !shown.tooSmall.isEmpty()) {
            // Room is not free space, and a user comparing with df needs to know why.
            message.append("; room is ").append(fmt(overcommit))
                    .append(" times a pool's capacity, less what its volumes were promised");
        }
        return new ApiException(code, message.toString());
    }

    /** The survey nearest to success: most candidates now, then once nodes are up, then ever; cheapest on ties. */
    private static Survey closest(List<Survey> surveys) {
        Survey best = surveys.getFirst();
        for (Survey s : surveys) {
            if (Comparator.<Survey>comparingInt(x -> x.candidates.size())
                    .thenComparingInt(x -> x.candidates.size() + x.downWithRoom)
                    .thenComparingInt(x -> x.couldEver)
                    .compare(s, best) > 0) {
                best = s;
            }
        }
        return best;
    }

    /**
     * Without a requested class, the request is invalid only if no class could ever hold it, and
     * unavailable if some class would hold it once its down nodes are back.
     */
    private static String worst(List<Survey> surveys, int count) {
        List<String> codes = surveys.stream().map(s -> s.code(count)).toList();
        if (codes.contains(ErrorCodes.UNAVAILABLE)) {
            return ErrorCodes.UNAVAILABLE;
        }
        if (codes.contains(ErrorCodes.NO_SPACE)) {
            return ErrorCodes.NO_SPACE;
        }
        return ErrorCodes.INVALID;
    }

    /** "a, b, c", or the first {@value #MAX_NAMES} and "and N more". */
    private static String names(List<String> names) {
        if (names.size() <= MAX_NAMES) {
            return String.join(", ", names);
        }
        return String.join(", ", names.subList(0, MAX_NAMES)) + " and " + (names.size() - MAX_NAMES) + " more";
    }

    /**
     * The class of an existing volume's replicas. Volumes record it, but a record that lacks it takes
     * the class of its pools, so new replicas match the old ones; null if even that is unknown.
     */
    private static String volumeClass(VolumeRecord volume, ClusterState state) {
        if (volume.cos() != null) {
            return volume.cos();
        }
        Set<String> classes = new HashSet<>();
        for (ReplicaRecord replica : volume.replicas()) {
            PoolRecord pool = state.pools().get(replica.pool());
            if (pool != null) {
                classes.add(pool.cos());
            }
        }
        return classes.size() == 1 ? classes.iterator().next() : null;
    }

    // ---- room ----------------------------------------------------------------------------

    /** What a pool may promise in all: thin provisioning lets volumes add up to more than its capacity. */
    private long promisable(PoolRecord pool) {
        return (long) (pool.capacityBytes() * overcommit);
    }

    /**
     * What a pool may still promise. Only promises count, not the bytes written: a thin volume may
     * fill up to its size at any time, and the overcommit factor is the operator's bet on how much of
     * that happens.
     */
    private long room(PoolRecord pool, Map<String, Long> provisioned) {
        return promisable(pool) - provisioned.getOrDefault(pool.id(), 0L);
    }

    private static String fmt(double d) {
        return d == Math.rint(d) ? Long.toString((long) d) : Double.toString(d);
    }
}
