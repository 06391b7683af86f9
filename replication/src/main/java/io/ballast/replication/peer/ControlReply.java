package io.ballast.replication.peer;

/**
 * The answer to a {@link ControlRequest}: success (error null, with the stat for STAT), or an
 * error code of {@link RemoteErrors} and the failure's message.
 */
record ControlReply(String error, String message, ReplicaStat stat) {

    static final ControlReply OK = new ControlReply(null, null, null);

    static ControlReply of(ReplicaStat stat) {
        return new ControlReply(null, null, stat);
    }

    static ControlReply failure(String error, String message) {
        return new ControlReply(error, message, null);
    }
}
