package io.ballast.meta;

import java.util.Map;

/**
 * A host that runs a Ballast daemon. The name is the node's identity everywhere (it is also its
 * Raft peer id), so it never changes once registered.
 */
public record NodeRecord(String name, String address, int apiPort, int nbdPort, int peerPort, int raftPort,
                         Map<String, String> labels, long registeredAtMillis, long lastHeartbeatMillis) {
    public NodeRecord {
        labels = Maps.frozenCopy(labels);
    }

    public NodeRecord withLastHeartbeatMillis(long atMillis) {
        return new NodeRecord(name, address, apiPort, nbdPort, peerPort, raftPort, labels, registeredAtMillis, atMillis);
    }
}
