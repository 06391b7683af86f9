package io.ballast.meta;

import java.util.List;
import java.util.Map;

/**
 * A volume. {@code attachment} is null while detached; {@code epoch} is the highest fencing epoch ever
 * issued for this volume, so a new attach always gets a strictly higher one than any coordinator before it.
 * {@code sourceVolume}/{@code sourceSnapshot} name the clone origin, or are null.
 */
public record VolumeRecord(String id, String name, long sizeBytes, int repl, String cos, String fs,
                           Map<String, String> labels, long createdAtMillis, List<ReplicaRecord> replicas,
                           AttachmentRecord attachment, long epoch,
                           List<SnapshotRecord> snapshots, String sourceVolume, String sourceSnapshot) {
    public VolumeRecord {
        labels = Maps.frozenCopy(labels);
        replicas = replicas == null ? List.of() : List.copyOf(replicas);
        snapshots = snapshots == null ? List.of() : List.copyOf(snapshots);
    }

    public boolean attached() {
        return attachment != null;
    }

    public VolumeRecord withSizeBytes(long newSizeBytes) {
        return new VolumeRecord(id, name, newSizeBytes, repl, cos, fs, labels, createdAtMillis, replicas,
                attachment, epoch, snapshots, sourceVolume, sourceSnapshot);
    }

    public VolumeRecord withAttachment(AttachmentRecord newAttachment, long newEpoch) {
        return new VolumeRecord(id, name, sizeBytes, repl, cos, fs, labels, createdAtMillis, replicas,
                newAttachment, newEpoch, snapshots, sourceVolume, sourceSnapshot);
    }

    public VolumeRecord withReplicas(int newRepl, List<ReplicaRecord> newReplicas) {
        return new VolumeRecord(id, name, sizeBytes, newRepl, cos, fs, labels, createdAtMillis, newReplicas,
                attachment, epoch, snapshots, sourceVolume, sourceSnapshot);
    }

    public VolumeRecord withSnapshots(List<SnapshotRecord> newSnapshots) {
        return new VolumeRecord(id, name, sizeBytes, repl, cos, fs, labels, createdAtMillis, replicas,
                attachment, epoch, newSnapshots, sourceVolume, sourceSnapshot);
    }
}
