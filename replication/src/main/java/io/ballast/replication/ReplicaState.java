package io.ballast.replication;

/** Where a replica stands for its volume's coordinator. */
public enum ReplicaState {
    /** In the in-sync set: every acknowledged write is on it. */
    IN_SYNC,
    /** Catching up: new writes are mirrored to it while the regions it missed are copied. */
    RESYNCING,
    /** Out of the in-sync set: it missed writes. */
    STALE
}
