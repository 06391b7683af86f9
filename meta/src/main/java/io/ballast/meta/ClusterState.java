package io.ballast.meta;

import java.util.List;
import java.util.Map;

/**
 * The whole metadata of a cluster, as of Raft log index {@code appliedIndex}. Immutable: every command
 * produces a new instance that shares all unchanged records with the previous one, so readers can hold
 * on to an instance for as long as they like without locks.
 *
 * <p>The maps are sorted by key: nodes by name, pools by id, volumes by name. {@code metadataVoters} and
 * {@code metadataLeader} are what the leader last recorded about the Raft group ({@link Command.SetMetadataRoles}),
 * so that every node, voter or not, can show who votes.
 */
public record ClusterState(String clusterId, Map<String, NodeRecord> nodes, Map<String, PoolRecord> pools,
                           Map<String, VolumeRecord> volumes, long appliedIndex, List<String> metadataVoters,
                           String metadataLeader) {
    public ClusterState {
        nodes = Maps.frozenCopy(nodes);
        pools = Maps.frozenCopy(pools);
        volumes = Maps.frozenCopy(volumes);
        metadataVoters = metadataVoters == null ? List.of() : List.copyOf(metadataVoters);
    }

    public ClusterState(String clusterId, Map<String, NodeRecord> nodes, Map<String, PoolRecord> pools,
                        Map<String, VolumeRecord> volumes, long appliedIndex) {
        this(clusterId, nodes, pools, volumes, appliedIndex, List.of(), null);
    }

    ClusterState withMetadataRoles(List<String> voters, String leader) {
        return new ClusterState(clusterId, nodes, pools, volumes, appliedIndex, voters, leader);
    }

    /** The state of a cluster before its first command. */
    public static ClusterState empty(String clusterId) {
        return new ClusterState(clusterId, Map.of(), Map.of(), Map.of(), 0);
    }

    ClusterState withNode(NodeRecord node) {
        return new ClusterState(clusterId, Maps.with(nodes, node.name(), node), pools, volumes, appliedIndex,
                metadataVoters, metadataLeader);
    }

    ClusterState withPool(PoolRecord pool) {
        return new ClusterState(clusterId, nodes, Maps.with(pools, pool.id(), pool), volumes, appliedIndex,
                metadataVoters, metadataLeader);
    }

    ClusterState withVolume(VolumeRecord volume) {
        return new ClusterState(clusterId, nodes, pools, Maps.with(volumes, volume.name(), volume), appliedIndex,
                metadataVoters, metadataLeader);
    }

    ClusterState withoutNode(String name) {
        return new ClusterState(clusterId, Maps.without(nodes, name), pools, volumes, appliedIndex, metadataVoters,
                metadataLeader);
    }

    ClusterState withoutPool(String id) {
        return new ClusterState(clusterId, nodes, Maps.without(pools, id), volumes, appliedIndex, metadataVoters,
                metadataLeader);
    }

    ClusterState withoutVolume(String name) {
        return new ClusterState(clusterId, nodes, pools, Maps.without(volumes, name), appliedIndex, metadataVoters,
                metadataLeader);
    }

    ClusterState withAppliedIndex(long index) {
        return new ClusterState(clusterId, nodes, pools, volumes, index, metadataVoters, metadataLeader);
    }
}
