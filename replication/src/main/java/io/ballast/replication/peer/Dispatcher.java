package io.ballast.replication.peer;

import java.io.IOException;
import java.util.Objects;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Turns one control request into its reply on the server: checks the sender's cluster, calls
 * the node's {@link ReplicaControl}, and reports any failure as an error code. Never throws,
 * so every request gets an answer.
 */
final class Dispatcher {
    private static final Logger log = LoggerFactory.getLogger(Dispatcher.class);

    private final Supplier<String> clusterId;
    private final ReplicaControl control;

    Dispatcher(Supplier<String> clusterId, ReplicaControl control) {
        this.clusterId = clusterId;
        this.control = control;
    }

    /** The JSON reply to a JSON request. */
    byte[] handle(byte[] json) {
        ControlReply reply;
        try {
            reply = handle(Wire.JSON.readValue(json, ControlRequest.class));
        } catch (IOException malformed) {
            // Unparseable JSON, or an operation this node does not know (a newer peer).
            reply = ControlReply.failure(RemoteErrors.INVALID, "malformed request: " + malformed.getMessage());
        }
        try {
            return Wire.JSON.writeValueAsBytes(reply);
        } catch (IOException e) {
            throw new IllegalStateException("cannot serialize " + reply, e); // our records always serialize
        }
    }

    ControlReply handle(ControlRequest request) {
        try {
            String ours = clusterId.get();
            if (!Objects.equals(ours, request.clusterId())) {
                log.warn("refused {} of replica {}: request from cluster {}, this node belongs to cluster {}",
                        request.op(), request.replicaId(), request.clusterId(), ours);
                return ControlReply.failure(RemoteErrors.WRONG_CLUSTER,
                        "request from cluster " + request.clusterId() + ", this node belongs to cluster " + ours);
            }
            return call(request);
        } catch (IOException | IllegalArgumentException e) {
            log.debug("{} of replica {} in pool {} failed: {}", request.op(), request.replicaId(), request.poolId(),
                    e.toString());
            return RemoteErrors.reply(e);
        } catch (RuntimeException e) {
            log.error("{} of replica {} in pool {} failed", request.op(), request.replicaId(), request.poolId(), e);
            return RemoteErrors.reply(e);
        }
    }

    private ControlReply call(ControlRequest r) throws IOException {
        String pool = required(r.poolId(), "poolId");
        String replica = required(r.replicaId(), "replicaId");
        switch (required(r.op(), "op")) {
            case CREATE -> control.create(pool, replica, required(r.sizeBytes(), "sizeBytes"));
            case DELETE -> control.delete(pool, replica);
            case GROW -> control.grow(pool, replica, required(r.sizeBytes(), "sizeBytes"));
            case SNAPSHOT -> control.snapshot(pool, replica, required(r.snapshotName(), "snapshotName"), r.snapshotTag());
            case DELETE_SNAPSHOT -> control.deleteSnapshot(pool, replica, required(r.snapshotName(), "snapshotName"));
            case CLONE -> control.cloneFrom(pool, replica, required(r.snapshotName(), "snapshotName"),
                    required(r.newReplicaId(), "newReplicaId"));
            case RESTORE -> control.restore(pool, replica, required(r.snapshotName(), "snapshotName"));
            case STAT -> {
                return ControlReply.of(Objects.requireNonNull(control.stat(pool, replica), "stat returned null"));
            }
        }
        return ControlReply.OK;
    }

    private static <T> T required(T value, String field) {
        if (value == null) {
            throw new IllegalArgumentException("malformed request: " + field + " is missing");
        }
        return value;
    }
}
