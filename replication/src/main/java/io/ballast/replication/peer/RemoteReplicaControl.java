package io.ballast.replication.peer;

import io.ballast.replication.peer.ControlRequest.Op;
import java.io.IOException;
import java.net.InetSocketAddress;

/**
 * Another node's {@link ReplicaControl}, reached through its peer port. Failures on that node
 * are thrown as the same exception types, their messages prefixed with "node NAME: "; a node
 * that cannot be reached, or does not answer in time, gives a {@link PeerUnavailableException}.
 * Cheap to create: the connection belongs to the {@link PeerClient}.
 */
public final class RemoteReplicaControl implements ReplicaControl {
    private final PeerClient client;
    private final String node;
    private final InetSocketAddress address;
    private final String clusterId;

    /**
     * @param node      the remote node's name, for messages
     * @param address   its peer port
     * @param clusterId the caller's cluster id; the remote node refuses requests from another cluster
     */
    public RemoteReplicaControl(PeerClient client, String node, InetSocketAddress address, String clusterId) {
        this.client = client;
        this.node = node;
        this.address = address;
        this.clusterId = clusterId;
    }

    @Override
    public void create(String poolId, String replicaId, long sizeBytes) throws IOException {
        call(new ControlRequest(clusterId, Op.CREATE, poolId, replicaId, sizeBytes, null, null, null));
    }

    @Override
    public void delete(String poolId, String replicaId) throws IOException {
        call(new ControlRequest(clusterId, Op.DELETE, poolId, replicaId, null, null, null, null));
    }

    @Override
    public void grow(String poolId, String replicaId, long newSizeBytes) throws IOException {
        call(new ControlRequest(clusterId, Op.GROW, poolId, replicaId, newSizeBytes, null, null, null));
    }

    @Override
    public void snapshot(String poolId, String replicaId, String snapshotName, String tag) throws IOException {
        call(new ControlRequest(clusterId, Op.SNAPSHOT, poolId, replicaId, null, snapshotName, null, tag));
    }

    @Override
    public void deleteSnapshot(String poolId, String replicaId, String snapshotName) throws IOException {
        call(new ControlRequest(clusterId, Op.DELETE_SNAPSHOT, poolId, replicaId, null, snapshotName, null, null));
    }

    @Override
    public void cloneFrom(String poolId, String sourceReplicaId, String snapshotName, String newReplicaId)
            throws IOException {
        call(new ControlRequest(clusterId, Op.CLONE, poolId, sourceReplicaId, null, snapshotName, newReplicaId, null));
    }

    @Override
    public void restore(String poolId, String replicaId, String snapshotName) throws IOException {
        call(new ControlRequest(clusterId, Op.RESTORE, poolId, replicaId, null, snapshotName, null, null));
    }

    @Override
    public ReplicaStat stat(String poolId, String replicaId) throws IOException {
        ReplicaStat stat = call(new ControlRequest(clusterId, Op.STAT, poolId, replicaId, null, null, null, null)).stat();
        if (stat == null) {
            throw new IOException("node " + node + ": its answer to stat has no stat");
        }
        return stat;
    }

    @Override
    public String toString() {
        return "node " + node + " (" + PeerUnavailableException.format(address) + ")";
    }

    private ControlReply call(ControlRequest request) throws IOException {
        byte[] json = client.call(node, address, Wire.JSON.writeValueAsBytes(request));
        ControlReply reply;
        try {
            reply = Wire.JSON.readValue(json, ControlReply.class);
        } catch (IOException e) {
            throw new IOException("node " + node + ": unreadable answer to " + request.op() + ": " + e.getMessage(), e);
        }
        RemoteErrors.throwIfFailed(node, reply);
        return reply;
    }
}
