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
 */
public record VolumeView(String name, String id, long sizeBytes, int repl, String cos, String fs,
                         String state, String attachedNode, String nbd, long epoch,
                         List<ReplicaView> replicas, long usedBytes, List<String> snapshots,
                         Map<String, String> labels, String createdAt, String source) {

    public record ReplicaView(String node, String pool, String state, long usedBytes) {}
}
