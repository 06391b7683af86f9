package io.ballast.replication.peer;

/**
 * The first frame of a data connection, as JSON: the replica to open and the epoch to open it
 * with. It names the sender's cluster for the same reason a {@link ControlRequest} does.
 */
record OpenRequest(String clusterId, String poolId, String replicaId, Long epoch) {
}
