package io.ballast.replication.peer;

import io.ballast.store.NoSuchReplicaException;
import io.ballast.store.Pool;
import io.ballast.store.Replica;
import java.io.IOException;
import java.util.List;
import java.util.Map;

/**
 * A node's replica files in its open pools, behind {@link ReplicaControl}: what the peer port serves to
 * other nodes, and what the node itself uses for its local replicas: what other nodes of the cluster ask of the
 * pools that placement chose here. The store's exceptions pass through unchanged, so the
 * calling node sees the same failures it would see locally.
 */
public final class PoolReplicaControl implements ReplicaControl {
    private final String nodeName;
    private final Map<String, Pool> pools;

    /** @param pools the pools open on this node, by pool id */
    public PoolReplicaControl(String nodeName, Map<String, Pool> pools) {
        this.nodeName = nodeName;
        this.pools = Map.copyOf(pools);
    }

    @Override
    public void create(String poolId, String replicaId, long sizeBytes) throws IOException {
        pool(poolId).create(replicaId, sizeBytes);
    }

    @Override
    public void delete(String poolId, String replicaId) throws IOException {
        try {
            pool(poolId).delete(replicaId);
        } catch (NoSuchReplicaException alreadyGone) {
            // Idempotent: the caller may retry a delete whose answer it never got.
        }
    }

    @Override
    public void grow(String poolId, String replicaId, long newSizeBytes) throws IOException {
        replica(poolId, replicaId).grow(newSizeBytes);
    }

    @Override
    public void snapshot(String poolId, String replicaId, String snapshotName, String tag) throws IOException {
        replica(poolId, replicaId).snapshot(snapshotName, tag);
    }

    @Override
    public void deleteSnapshot(String poolId, String replicaId, String snapshotName) throws IOException {
        replica(poolId, replicaId).deleteSnapshot(snapshotName);
    }

    @Override
    public void cloneFrom(String poolId, String sourceReplicaId, String snapshotName, String newReplicaId)
            throws IOException {
        pool(poolId).cloneFrom(sourceReplicaId, snapshotName, newReplicaId);
    }

    @Override
    public void restore(String poolId, String replicaId, String snapshotName) throws IOException {
        replica(poolId, replicaId).restore(snapshotName);
    }

    @Override
    public ReplicaStat stat(String poolId, String replicaId) throws IOException {
        Replica replica = replica(poolId, replicaId);
        Replica.Snapshots snapshots = replica.snapshotsWithTags();
        return new ReplicaStat(replica.sizeBytes(), replica.usedBytes(), snapshots.names(), snapshots.tags());
    }

    private Replica replica(String poolId, String replicaId) throws IOException {
        return pool(poolId).replica(replicaId);
    }

    private Pool pool(String poolId) throws IOException {
        Pool pool = poolId == null ? null : pools.get(poolId);
        if (pool == null) {
            throw new IOException("pool " + poolId + " is not open on node " + nodeName);
        }
        return pool;
    }
}
