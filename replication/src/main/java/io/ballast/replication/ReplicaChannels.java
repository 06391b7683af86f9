package io.ballast.replication;

import java.io.IOException;

/**
 * Opens channels to the replicas in this node's own pools: what the peer port's data sessions and
 * a local coordinator use. Opening admits the epoch on the replica (durably), so opening with a
 * newer epoch fences every channel of an older one.
 */
@FunctionalInterface
public interface ReplicaChannels {

    /**
     * @throws io.ballast.store.NoSuchReplicaException if the pool has no such replica
     * @throws io.ballast.store.StaleEpochException if the replica already admitted a newer epoch
     */
    ReplicaChannel open(String poolId, String replicaId, long epoch) throws IOException;
}
