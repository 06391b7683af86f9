package io.ballast.replication;

import io.ballast.replication.peer.ReplicaControl;
import io.ballast.replication.peer.ReplicaStat;
import java.io.IOException;
import java.util.List;
import java.util.UUID;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Gives a replica that is out of the in-sync set the snapshots of an in-sync one, with their content,
 * before it takes any write: the first step of a resync or rebuild (the head follows, in
 * {@link VolumeTarget#resync(ReplicaChannel, long)}).
 *
 * <p>Both snapshot lists are oldest first. The stale replica keeps the longest common prefix (same names,
 * same tags) and deletes the rest of its own, newest first: snapshots deleted while it was away, ones in
 * another order, and a name deleted and taken again since (the tag differs). Deleting merges a snapshot
 * into its child, so the head reads the same. Then, for each snapshot the source has beyond the prefix,
 * oldest first, a private clone of it is made on the source's node (instant, copy on write), the stale
 * replica's head is made to read the same as that clone ({@link ReplicaCopier#makeIdentical}: the regions
 * either holds data in are compared by checksum, only the differing ones are copied) and the snapshot is
 * taken there with the source's tag. Nothing writes to the stale replica meanwhile: no coordinator sends
 * writes to a replica out of the set.
 *
 * <p>Afterwards the stale replica's head reads as the source's newest snapshot. The coordinator's map of the
 * regions written while the replica was away is still a superset of where the two heads differ: if a
 * snapshot was replayed, the replica missed it, so it was out of the set before that snapshot was taken and
 * the map covers every write since; the source's head differs from its newest snapshot only by such writes.
 * If nothing was replayed the head was not touched (deleting a snapshot does not change the head).
 */
public final class SnapshotReplay {
    private static final Logger log = LoggerFactory.getLogger(SnapshotReplay.class);

    private SnapshotReplay() {
    }

    /** Opens a channel to a replica in one pool of one node, at the coordinator's epoch. */
    @FunctionalInterface
    public interface Channels {
        ReplicaChannel open(String replicaId) throws IOException;
    }

    /**
     * One replica of the volume: its node and pool, the node's control of its pools, and channels to the
     * replicas in that pool.
     */
    public record Place(String node, String pool, ReplicaControl control, Channels channels) {
    }

    /** What a replay did. */
    public record Result(List<String> deleted, List<String> copied, long bytesCopied) {
        public boolean changedHead() {
            return !copied.isEmpty();
        }
    }

    /**
     * Brings {@code stale}'s snapshots of replica {@code replicaId} in line with {@code source}'s; grows it
     * first if it missed a resize.
     */
    public static Result replay(String volume, String replicaId, long sizeBytes, Place source, Place stale)
            throws IOException {
        ReplicaStat want = source.control().stat(source.pool(), replicaId);
        ReplicaStat have = stale.control().stat(stale.pool(), replicaId);
        if (have.sizeBytes() < sizeBytes) {
            log.info("volume {}: growing the replica on {} to {} bytes (it missed a resize)", volume, stale.node(),
                    sizeBytes);
            stale.control().grow(stale.pool(), replicaId, sizeBytes);
        }
        int common = 0;
        while (common < have.snapshots().size() && common < want.snapshots().size()
                && have.snapshots().get(common).equals(want.snapshots().get(common))
                && java.util.Objects.equals(have.tag(common), want.tag(common))) {
            common++;
        }
        List<String> deleted = new java.util.ArrayList<>();
        for (int i = have.snapshots().size() - 1; i >= common; i--) {
            String name = have.snapshots().get(i);
            log.info("volume {}: deleting snapshot {} of the replica on {} (the in-sync replica on {} has no such"
                    + " snapshot, or another one of that name, or in another order)", volume, name, stale.node(),
                    source.node());
            stale.control().deleteSnapshot(stale.pool(), replicaId, name);
            deleted.add(name);
        }
        List<String> copied = new java.util.ArrayList<>();
        long bytes = 0;
        for (int i = common; i < want.snapshots().size(); i++) {
            String snapshot = want.snapshots().get(i);
            String clone = replicaId + "-replay-" + UUID.randomUUID();
            long started = System.nanoTime();
            source.control().cloneFrom(source.pool(), replicaId, snapshot, clone);
            long copiedNow;
            try (ReplicaChannel view = source.channels().open(clone);
                 ReplicaChannel head = stale.channels().open(replicaId)) {
                copiedNow = ReplicaCopier.makeIdentical(view, head, sizeBytes);
            } finally {
                try {
                    source.control().delete(source.pool(), clone);
                } catch (IOException | RuntimeException e) {
                    // Its node's next start deletes it: no volume names it.
                    log.warn("volume {}: could not delete the snapshot clone {} on {}: {}", volume, clone,
                            source.node(), e.getMessage());
                }
            }
            stale.control().snapshot(stale.pool(), replicaId, snapshot, want.tag(i));
            bytes += copiedNow;
            copied.add(snapshot);
            log.info("volume {}: snapshot {} copied to the replica on {} from {} in {} ms; {} bytes copied", volume,
                    snapshot, stale.node(), source.node(), (System.nanoTime() - started) / 1_000_000, copiedNow);
        }
        return new Result(deleted, copied, bytes);
    }
}
