package io.ballast.replication.peer;

import java.util.List;

/**
 * What a replica looks like on its node.
 *
 * @param usedBytes the space the replica's own layers take in its pool
 * @param snapshots the snapshot names, oldest first
 */
public record ReplicaStat(long sizeBytes, long usedBytes, List<String> snapshots) {
    public ReplicaStat {
        snapshots = List.copyOf(snapshots);
    }
}
