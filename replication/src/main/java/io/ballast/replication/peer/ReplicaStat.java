package io.ballast.replication.peer;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * What a replica looks like on its node.
 *
 * @param usedBytes    the space the replica's own layers take in its pool
 * @param snapshots    the snapshot names, oldest first
 * @param snapshotTags the tag of each snapshot, in the same order; null where one has none (all null when
 *                     the answer carries none)
 */
public record ReplicaStat(long sizeBytes, long usedBytes, List<String> snapshots, List<String> snapshotTags) {
    public ReplicaStat {
        snapshots = List.copyOf(snapshots);
        List<String> tags = new ArrayList<>(snapshots.size());
        for (int i = 0; i < snapshots.size(); i++) {
            tags.add(snapshotTags != null && i < snapshotTags.size() ? snapshotTags.get(i) : null);
        }
        snapshotTags = Collections.unmodifiableList(tags);
    }

    /** Snapshots without tags. */
    public ReplicaStat(long sizeBytes, long usedBytes, List<String> snapshots) {
        this(sizeBytes, usedBytes, snapshots, null);
    }

    /** The tag of snapshot {@code index} (of {@link #snapshots()}), or null. */
    public String tag(int index) {
        return snapshotTags.get(index);
    }
}
