package io.ballast.replication.peer;

import io.ballast.store.NoSuchReplicaException;
import io.ballast.store.NoSuchSnapshotException;
import io.ballast.store.OutOfRangeException;
import io.ballast.store.PoolFullException;
import io.ballast.store.ReplicaExistsException;
import io.ballast.store.SnapshotExistsException;
import io.ballast.store.StaleEpochException;
import java.io.IOException;

/**
 * Carries failures across the wire: the server turns an exception into a code and its message,
 * the client throws the same exception type again, its message prefixed with the node's name,
 * so that a caller handles a remote failure exactly like a local one.
 */
final class RemoteErrors {
    static final String NO_SUCH_REPLICA = "NO_SUCH_REPLICA";
    static final String NO_SUCH_SNAPSHOT = "NO_SUCH_SNAPSHOT";
    static final String REPLICA_EXISTS = "REPLICA_EXISTS";
    static final String SNAPSHOT_EXISTS = "SNAPSHOT_EXISTS";
    static final String POOL_FULL = "POOL_FULL";
    static final String OUT_OF_RANGE = "OUT_OF_RANGE";
    /** The replica admitted a newer epoch than the session's: the sender is no longer the volume's coordinator. */
    static final String STALE_EPOCH = "STALE_EPOCH";
    /** An IllegalArgumentException: a bad id, name or size, or a malformed request. */
    static final String INVALID = "INVALID";
    static final String WRONG_CLUSTER = "WRONG_CLUSTER";
    /** Any other IOException of the store. */
    static final String IO = "IO";
    /** A bug on the server (an unexpected RuntimeException); its log has the stack trace. */
    static final String INTERNAL = "INTERNAL";

    private RemoteErrors() {
    }

    /** The reply that reports {@code failure}. */
    static ControlReply reply(Throwable failure) {
        return ControlReply.failure(code(failure), message(failure));
    }

    /** The error code that stands for {@code failure}. */
    static String code(Throwable failure) {
        return switch (failure) {
            case NoSuchReplicaException e -> NO_SUCH_REPLICA;
            case NoSuchSnapshotException e -> NO_SUCH_SNAPSHOT;
            case ReplicaExistsException e -> REPLICA_EXISTS;
            case SnapshotExistsException e -> SNAPSHOT_EXISTS;
            case PoolFullException e -> POOL_FULL;
            case OutOfRangeException e -> OUT_OF_RANGE;
            case StaleEpochException e -> STALE_EPOCH;
            case IllegalArgumentException e -> INVALID;
            case IOException e -> IO;
            default -> INTERNAL;
        };
    }

    /** Throws what {@code reply} reports, if it is a failure. */
    static void throwIfFailed(String node, ControlReply reply) throws IOException {
        if (reply.error() == null) {
            return;
        }
        Exception failure = failure(node, reply.error(), reply.message());
        if (failure instanceof IllegalArgumentException invalid) {
            throw invalid;
        }
        throw (IOException) failure;
    }

    /**
     * The exception that {@code code} stands for, its message prefixed with the node's name: an
     * {@link IllegalArgumentException} for {@link #INVALID}, an {@link IOException} for every other.
     */
    static Exception failure(String node, String code, String message) {
        String prefixed = "node " + node + ": " + message;
        return switch (code) {
            case INVALID -> new IllegalArgumentException(prefixed);
            case NO_SUCH_REPLICA -> new NoSuchReplicaException(prefixed);
            case NO_SUCH_SNAPSHOT -> new NoSuchSnapshotException(prefixed);
            case REPLICA_EXISTS -> new ReplicaExistsException(prefixed);
            case SNAPSHOT_EXISTS -> new SnapshotExistsException(prefixed);
            case POOL_FULL -> new PoolFullException(prefixed);
            case OUT_OF_RANGE -> new OutOfRangeException(prefixed);
            case STALE_EPOCH -> new StaleEpochException(prefixed);
            case INTERNAL -> new IOException("node " + node + ": internal error: " + message);
            // IO, WRONG_CLUSTER, and codes a newer node may add.
            default -> new IOException(prefixed);
        };
    }

    static String message(Throwable failure) {
        String message = failure.getMessage();
        return message != null ? message : failure.getClass().getSimpleName();
    }
}
