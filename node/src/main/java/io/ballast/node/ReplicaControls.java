package io.ballast.node;

import io.ballast.api.ErrorCodes;
import io.ballast.meta.ClusterState;
import io.ballast.meta.NodeRecord;
import io.ballast.replication.peer.PeerClient;
import io.ballast.replication.peer.RemoteReplicaControl;
import io.ballast.replication.peer.ReplicaControl;
import java.net.InetSocketAddress;

/**
 * The replica files of any node, local or remote, behind one interface: this node's own pools directly,
 * every other node through its peer port, so a volume operation treats all its replicas alike.
 */
final class ReplicaControls {
    private final String self;
    private final ReplicaControl local;
    private final PeerClient peers;

    ReplicaControls(String self, ReplicaControl local, PeerClient peers) {
        this.self = self;
        this.local = local;
        this.peers = peers;
    }

    /** The replica files on {@code node}; UNAVAILABLE if it is not a member or is down. */
    ReplicaControl on(String node, ClusterState state) {
        if (node.equals(self)) {
            return local;
        }
        NodeRecord record = state.nodes().get(node);
        if (record == null) {
            throw new ApiException(ErrorCodes.UNAVAILABLE, "node " + node + " is not a member of the cluster");
        }
        if (!record.up()) {
            throw new ApiException(ErrorCodes.UNAVAILABLE, "node " + node + " is down (no heartbeat since "
                    + java.time.Instant.ofEpochMilli(record.lastHeartbeatMillis()) + "); bring it back or remove it"
                    + " (ballast node remove " + node + ")");
        }
        return new RemoteReplicaControl(peers, node, new InetSocketAddress(record.address(), record.peerPort()),
                state.clusterId());
    }

    boolean isLocal(String node) {
        return node.equals(self);
    }
}
