package io.ballast.meta;

import java.util.Map;

/**
 * A host that runs a Ballast daemon. The name is the node's identity everywhere (it is also its
 * Raft peer id), so it never changes once registered.
 *
 * <p>{@code state} is {@link #UP} or {@link #DOWN}. Only the metadata leader marks a node down, when
 * it has seen no heartbeat from it for a whole lease ({@link Command.MarkNodeDown}); the node's next
 * heartbeat marks it up again. {@code lastHeartbeatMillis} is the node's own clock at its latest
 * heartbeat: shown to users, and compared only with itself, so clock skew between hosts cannot make
 * a live node look dead.
 */
public record NodeRecord(String name, String address, int apiPort, int nbdPort, int peerPort, int raftPort,
                         Map<String, String> labels, long registeredAtMillis, long lastHeartbeatMillis,
                         String state) {
    public static final String UP = "up";
    public static final String DOWN = "down";

    public NodeRecord {
        labels = Maps.frozenCopy(labels);
        // Records written before nodes had a state were all live.
        state = state == null ? UP : state;
    }

    /** A node that is up. */
    public NodeRecord(String name, String address, int apiPort, int nbdPort, int peerPort, int raftPort,
                      Map<String, String> labels, long registeredAtMillis, long lastHeartbeatMillis) {
        this(name, address, apiPort, nbdPort, peerPort, raftPort, labels, registeredAtMillis, lastHeartbeatMillis, UP);
    }

    public boolean up() {
        return UP.equals(state);
    }

    public String label(String key) {
        return labels.get(key);
    }

    public NodeRecord withLastHeartbeatMillis(long atMillis) {
        return new NodeRecord(name, address, apiPort, nbdPort, peerPort, raftPort, labels, registeredAtMillis,
                atMillis, UP);
    }

    public NodeRecord withState(String newState) {
        return new NodeRecord(name, address, apiPort, nbdPort, peerPort, raftPort, labels, registeredAtMillis,
                lastHeartbeatMillis, newState);
    }
}
