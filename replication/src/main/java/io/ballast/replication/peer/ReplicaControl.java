package io.ballast.replication.peer;

import java.io.IOException;

/**
 * The operations a node performs on the replica files in its pools: what a cluster asks of
 * the nodes that placement chose for a volume. The node's own implementation works on its
 * pools; {@link RemoteReplicaControl} performs the same operations on another node through
 * its peer port, so a caller treats a remote node like the local one.
 *
 * <p>Failures are the store's exceptions ({@code NoSuchReplicaException},
 * {@code NoSuchSnapshotException}, {@code ReplicaExistsException},
 * {@code SnapshotExistsException}, {@code PoolFullException}, {@code OutOfRangeException}),
 * {@link IllegalArgumentException} for a bad id, name or size, and other {@link IOException}s;
 * a remote node throws the same types, plus {@link PeerUnavailableException} when it cannot be
 * reached or does not answer in time.
 */
public interface ReplicaControl {

    void create(String poolId, String replicaId, long sizeBytes) throws IOException;

    /** Idempotent: deleting a replica that does not exist succeeds. */
    void delete(String poolId, String replicaId) throws IOException;

    void grow(String poolId, String replicaId, long newSizeBytes) throws IOException;

    /** A snapshot without a tag. */
    default void snapshot(String poolId, String replicaId, String snapshotName) throws IOException {
        snapshot(poolId, replicaId, snapshotName, null);
    }

    /**
     * @param tag recorded with the name (null for none): the snapshot's identity on every replica of the
     *            volume, so that a name deleted and taken again is told apart from the old snapshot
     */
    void snapshot(String poolId, String replicaId, String snapshotName, String tag) throws IOException;

    void deleteSnapshot(String poolId, String replicaId, String snapshotName) throws IOException;

    /** A new replica whose data is {@code sourceReplicaId}'s snapshot, in the same pool. */
    void cloneFrom(String poolId, String sourceReplicaId, String snapshotName, String newReplicaId) throws IOException;

    /** Starts the replica's data over from the snapshot; later snapshots stay. */
    void restore(String poolId, String replicaId, String snapshotName) throws IOException;

    ReplicaStat stat(String poolId, String replicaId) throws IOException;
}
