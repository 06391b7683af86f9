package io.ballast.meta;

import java.util.Map;

/**
 * The whole metadata of a cluster, as of Raft log index {@code appliedIndex}. Immutable: every command
 * produces a new instance that shares all unchanged records with the previous one, so readers can hold
 * on to an instance for as long as they like without locks.
 *
 * <p>The maps are sorted by key: nodes by name, pools by id, volumes by name.
 */
public record ClusterState(String clusterId, Map<String, NodeRecord> nodes, Map<String, PoolRecord> pools,
                           Map<String, VolumeRecord> volumes, long appliedIndex) {
    public ClusterState {
        nodes = Maps.frozenCopy(nodes);
        pools = Maps.frozenCopy(pools);
        volumes = Maps.frozenCopy(volumes);
    }

    /** The state of a cluster before its first command. */
    public static ClusterState empty(String clusterId) {
        return new ClusterState(clusterId, Map.of(), Map.of(), Map.of(), 0);
    }

    ClusterState withNode(NodeRecord node) {
        return new ClusterState(clusterId, Maps.with(nodes, node.name(), node), pools, volumes, appliedIndex);
    }

    ClusterState withPool(PoolRecord pool) {
        return new ClusterState(clusterId, nodes, Maps.with(pools, pool.id(), pool), volumes, appliedIndex);
    }

    ClusterState withVolume(VolumeRecord volume) {
        return new ClusterState(clusterId, nodes, pools, Maps.with(volumes, volume.name(), volume), appliedIndex);
    }

    ClusterState withoutNode(String name) {
        return new ClusterState(clusterId, Maps.without(nodes, name), pools, volumes, appliedIndex);
    }

    ClusterState withoutPool(String id) {
        return new ClusterState(clusterId, nodes, Maps.without(pools, id), volumes, appliedIndex);
    }

    ClusterState withoutVolume(String name) {
        return new ClusterState(clusterId, nodes, pools, Maps.without(volumes, name), appliedIndex);
    }

    ClusterState withAppliedIndex(long index) {
        return new ClusterState(clusterId, nodes, pools, volumes, index);
    }
}
