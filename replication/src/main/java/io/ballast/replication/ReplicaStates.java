package io.ballast.replication;

import java.io.IOException;

/**
 * Commits a change of a replica's state through the cluster's metadata, on behalf of the coordinator of
 * one attachment epoch. The coordinator calls it, and waits for it, before it acknowledges anything that
 * depends on the change: a replica leaves the in-sync set only by a committed change.
 */
@FunctionalInterface
public interface ReplicaStates {

    /**
     * Returns once the change is committed.
     *
     * @throws IOException if it could not be committed (no quorum, or this coordinator's epoch is stale);
     *                     the coordinator must then not act as if it had been
     */
    void commit(String node, ReplicaState state) throws IOException;
}
