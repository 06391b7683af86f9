package io.ballast.replication.peer;

/**
 * One {@link ReplicaControl} call, as JSON on the wire. Fields an operation does not use are
 * null. Every request names the sender's cluster, so that a node never acts for another
 * cluster that happens to reach its port (a reused address, a misconfigured join).
 */
record ControlRequest(String clusterId, Op op, String poolId, String replicaId, Long sizeBytes,
                      String snapshotName, String newReplicaId, String snapshotTag) {

    enum Op { CREATE, DELETE, GROW, SNAPSHOT, DELETE_SNAPSHOT, CLONE, RESTORE, STAT }
}
