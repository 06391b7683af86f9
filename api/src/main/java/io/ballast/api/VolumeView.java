package io.ballast.api;

import java.util.List;
import java.util.Map;

/**
 * A volume as {@code GET /v1/volumes/{name}} and {@code volume inspect -o json} show it.
 * The field names are part of the user-facing contract (INTERFACE.md).
 *
 * @param state      detached, attached or degraded
 * @param nbd        the NBD URI while attached, else null
 * @param epoch      the fencing epoch of the current (or last) attachment
 * @param createdAt  RFC 3339
 * @param device     the block device (/dev/loopN) while attached as one on its node, else null
 * @param mounts     where it is mounted on its node
 * @param hostError  why that device or those mounts no longer work (after a node restart), else null
 */
public record VolumeView(String name, String id, long sizeBytes, int repl, String cos, String fs,
                         String state, String attachedNode, String nbd, long epoch,
                         List<ReplicaView> replicas, long usedBytes, List<String> snapshots,
                         Map<String, String> labels, String createdAt, String source,
                         String device, List<String> mounts, String hostError) {

    /** @param resync the progress of its resync while one runs, else null */
    public record ReplicaView(String node, String pool, String state, long usedBytes, ResyncView resync) {}

    /**
     * A resync or rebuild under way.
     *
     * @param full           true when every region holding data is compared (a rebuild, or a resync after the
     *                       coordinator changed), false when only the regions written while it was away are
     * @param percent        how much of the comparison is done
     * @param bytesCopied    the bytes that differed and were copied so far
     * @param bytesPerSecond compared bytes per second
     * @param etaSeconds     the time left at that rate, or -1 while unknown
     */
    public record ResyncView(boolean full, double percent, long bytesToCheck, long bytesChecked, long bytesCopied,
                             long bytesPerSecond, long etaSeconds) {}
}
