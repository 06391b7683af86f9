package io.ballast.replication;

import io.ballast.store.NoSuchReplicaException;
import io.ballast.store.Pool;
import io.ballast.store.Replica;
import java.io.IOException;
import java.util.Map;

/** Channels to the replicas in this node's open pools, each a {@link LocalReplicaChannel}. */
public final class PoolReplicaChannels implements ReplicaChannels {
    private final String node;
    private final Map<String, Pool> pools;

    /** @param pools the pools open on this node, by pool id */
    public PoolReplicaChannels(String node, Map<String, Pool> pools) {
        this.node = node;
        this.pools = Map.copyOf(pools);
    }

    @Override
    public ReplicaChannel open(String poolId, String replicaId, long epoch) throws IOException {
        return LocalReplicaChannel.open(node, replica(poolId, replicaId), epoch);
    }

    /**
     * The caller believes the replica is here, so a pool that is not open here is a missing
     * replica too (where {@code PoolReplicaControl}, asked to create one, says the pool is not open).
     */
    private Replica replica(String poolId, String replicaId) throws NoSuchReplicaException {
        Pool pool = poolId == null ? null : pools.get(poolId);
        if (pool == null) {
            throw new NoSuchReplicaException("replica " + replicaId + ": pool " + poolId + " is not open on node "
                    + node);
        }
        try {
            return pool.replica(replicaId);
        } catch (NoSuchReplicaException e) {
            throw new NoSuchReplicaException("replica " + replicaId + " is not in pool " + poolId + " on node " + node);
        }
    }
}
