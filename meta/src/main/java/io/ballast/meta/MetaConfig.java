package io.ballast.meta;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;

/**
 * Where and how this node runs its metadata server.
 *
 * @param dir                 the metadata directory; Raft's log, snapshots and the group id live under it
 * @param nodeName            this node's name, also its Raft peer id
 * @param address             the host or IP the Raft server binds to and peers reach it at
 * @param raftPort            the Raft server's TCP port
 * @param snapshotThreshold   take a snapshot (and purge the log up to it) every this many log entries
 * @param logSegmentSizeBytes roll log segments at this size; only closed segments can be purged
 * @param submitTimeout       how long a write or a linearizable read may wait for a quorum
 * @param startupTimeout      how long {@link MetaStore#open} may wait for a leader and the replayed state
 * @param join                the cluster to join on first start, or null to create a new one; ignored
 *                            once this directory belongs to a cluster
 */
public record MetaConfig(Path dir, String nodeName, String address, int raftPort,
                         long snapshotThreshold, long logSegmentSizeBytes,
                         Duration submitTimeout, Duration startupTimeout, Join join) {

    /**
     * What a joining node learned from the node it asked: the cluster id (the Raft group id) and the
     * current members, through which it reaches the leader until its own copy of the state is current.
     */
    public record Join(String clusterId, java.util.List<MetaPeer> members) {
        public Join {
            Objects.requireNonNull(clusterId, "clusterId");
            members = java.util.List.copyOf(members);
        }
    }

    public static final long DEFAULT_SNAPSHOT_THRESHOLD = 10_000;
    // Entries are a few hundred bytes: 1 MiB segments hold a few thousand, so a snapshot every 10,000
    // entries lets Raft delete several closed segments each time.
    public static final long DEFAULT_LOG_SEGMENT_SIZE_BYTES = 1 << 20;
    public static final Duration DEFAULT_SUBMIT_TIMEOUT = Duration.ofSeconds(10);
    public static final Duration DEFAULT_STARTUP_TIMEOUT = Duration.ofSeconds(30);

    public MetaConfig {
        Objects.requireNonNull(dir, "dir");
        Objects.requireNonNull(nodeName, "nodeName");
        Objects.requireNonNull(address, "address");
        Objects.requireNonNull(submitTimeout, "submitTimeout");
        Objects.requireNonNull(startupTimeout, "startupTimeout");
        if (nodeName.isBlank()) {
            throw new IllegalArgumentException("nodeName must not be blank");
        }
        if (raftPort <= 0 || raftPort > 65535) {
            throw new IllegalArgumentException("raftPort must be 1..65535, got " + raftPort);
        }
        if (snapshotThreshold < 1) {
            throw new IllegalArgumentException("snapshotThreshold must be at least 1, got " + snapshotThreshold);
        }
        if (logSegmentSizeBytes < 8 * 1024) {
            throw new IllegalArgumentException("logSegmentSizeBytes must be at least 8 KiB, got " + logSegmentSizeBytes);
        }
    }

    /** The defaults for everything but identity and address. */
    public MetaConfig(Path dir, String nodeName, String address, int raftPort) {
        this(dir, nodeName, address, raftPort, DEFAULT_SNAPSHOT_THRESHOLD, DEFAULT_LOG_SEGMENT_SIZE_BYTES,
                DEFAULT_SUBMIT_TIMEOUT, DEFAULT_STARTUP_TIMEOUT, null);
    }

    public MetaConfig withJoin(Join newJoin) {
        return new MetaConfig(dir, nodeName, address, raftPort, snapshotThreshold, logSegmentSizeBytes, submitTimeout,
                startupTimeout, newJoin);
    }

    public MetaConfig withSnapshotThreshold(long entries) {
        return new MetaConfig(dir, nodeName, address, raftPort, entries, logSegmentSizeBytes, submitTimeout, startupTimeout, join);
    }

    public MetaConfig withLogSegmentSizeBytes(long bytes) {
        return new MetaConfig(dir, nodeName, address, raftPort, snapshotThreshold, bytes, submitTimeout, startupTimeout, join);
    }

    public MetaConfig withSubmitTimeout(Duration timeout) {
        return new MetaConfig(dir, nodeName, address, raftPort, snapshotThreshold, logSegmentSizeBytes, timeout, startupTimeout, join);
    }

    public MetaConfig withStartupTimeout(Duration timeout) {
        return new MetaConfig(dir, nodeName, address, raftPort, snapshotThreshold, logSegmentSizeBytes, submitTimeout, timeout, join);
    }
}
