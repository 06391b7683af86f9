package io.ballast.node;

import io.ballast.api.ErrorCodes;
import io.ballast.api.Sizes;
import io.ballast.api.VolumeSpec;
import io.ballast.meta.ClusterState;
import io.ballast.meta.NodeRecord;
import io.ballast.meta.PoolRecord;
import io.ballast.meta.VolumeRecord;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Chooses the pools that hold a new volume's replicas: one per node, on pools of the requested
 * class of service with room under the overcommit limit, on the nodes, zones and racks the
 * spec allows, emptiest pools first. When it cannot, the error says what was needed and
 * what was found.
 */
final class Placement {
    private final double overcommit;

    Placement(double overcommit) {
        this.overcommit = overcommit;
    }

    /** A pool and what it has promised so far. */
    record Choice(String node, String poolId) {}

    List<Choice> place(VolumeSpec spec, ClusterState state) {
        long size = spec.sizeBytes();
        Map<String, Long> provisioned = provisionedByPool(state);
        List<PoolRecord> eligible = new ArrayList<>();
        Set<String> nodesWithClass = new LinkedHashSet<>();
        long largestRoom = 0;
        for (PoolRecord pool : state.pools().values()) {
            NodeRecord node = state.nodes().get(pool.node());
            if (node == null || !allowed(spec, node) || !pool.cos().equals(spec.cos())) {
                continue;
            }
            nodesWithClass.add(pool.node());
            long room = room(pool, provisioned);
            largestRoom = Math.max(largestRoom, room);
            if (room >= size) {
                eligible.add(pool);
            }
        }
        eligible.sort(Comparator.comparingLong((PoolRecord p) -> room(p, provisioned)).reversed()
                .thenComparing(PoolRecord::id));
        List<Choice> choices = new ArrayList<>();
        Set<String> used = new LinkedHashSet<>();
        for (PoolRecord pool : eligible) {
            if (choices.size() == spec.repl()) {
                break;
            }
            if (used.add(pool.node())) {
                choices.add(new Choice(pool.node(), pool.id()));
            }
        }
        if (choices.size() < spec.repl()) {
            String need = "need " + spec.repl() + (spec.repl() == 1 ? " node" : " nodes") + " with a " + spec.cos()
                    + " pool and room for " + Sizes.format(size);
            String found = used.isEmpty() ? "found none" : "found " + used.size() + ": " + String.join(", ", used);
            String hint = nodesWithClass.isEmpty()
                    ? " (no node that the volume may use has a " + spec.cos() + " pool)"
                    : " (the roomiest " + spec.cos() + " pool has " + Sizes.format(largestRoom)
                            + " of room: " + fmt(overcommit) + " times its capacity, less what its volumes were promised)";
            // A request no pool could ever satisfy is bad input; otherwise the cluster is full for now.
            boolean unsatisfiable = size > maxPromisable(state, spec) || nodesWithClass.size() < spec.repl();
            throw new ApiException(unsatisfiable ? ErrorCodes.INVALID : ErrorCodes.NO_SPACE,
                    need + "; " + found + hint);
        }
        return choices;
    }

    /** Refuses to grow a volume beyond what its pools may still promise. */
    void checkGrowth(VolumeRecord volume, long newSize, ClusterState state) {
        Map<String, Long> provisioned = provisionedByPool(state);
        long growth = newSize - volume.sizeBytes();
        for (io.ballast.meta.ReplicaRecord replica : volume.replicas()) {
            PoolRecord pool = state.pools().get(replica.pool());
            if (pool != null && room(pool, provisioned) < growth) {
                throw new ApiException(ErrorCodes.NO_SPACE, "volume " + volume.name() + " cannot grow by "
                        + Sizes.format(growth) + ": pool " + pool.id() + " on " + pool.node() + " has "
                        + Sizes.format(Math.max(0, room(pool, provisioned))) + " of room (" + fmt(overcommit)
                        + " times its capacity, less what its volumes were promised)");
            }
        }
    }

    private long maxPromisable(ClusterState state, VolumeSpec spec) {
        long max = 0;
        for (PoolRecord pool : state.pools().values()) {
            if (pool.cos().equals(spec.cos())) {
                max = Math.max(max, (long) (pool.capacityBytes() * overcommit));
            }
        }
        return max;
    }

    private long room(PoolRecord pool, Map<String, Long> provisioned) {
        return (long) (pool.capacityBytes() * overcommit) - provisioned.getOrDefault(pool.id(), 0L);
    }

    static Map<String, Long> provisionedByPool(ClusterState state) {
        Map<String, Long> provisioned = new HashMap<>();
        for (VolumeRecord volume : state.volumes().values()) {
            volume.replicas().forEach(r -> provisioned.merge(r.pool(), volume.sizeBytes(), Long::sum));
        }
        return provisioned;
    }

    private static boolean allowed(VolumeSpec spec, NodeRecord node) {
        if (!spec.nodes().isEmpty() && !spec.nodes().contains(node.name())) {
            return false;
        }
        // List.of(...).contains(null) throws: a node without the label is simply not in the zone.
        String zone = node.labels().get("zone");
        String rack = node.labels().get("rack");
        if (!spec.zones().isEmpty() && (zone == null || !spec.zones().contains(zone))) {
            return false;
        }
        return spec.racks().isEmpty() || rack != null && spec.racks().contains(rack);
    }

    private static String fmt(double d) {
        return d == Math.rint(d) ? Long.toString((long) d) : Double.toString(d);
    }
}
