package io.ballast.meta;

/**
 * A storage pool on one node. {@code cos} is its class of service (low, medium or high): what its
 * fingerprint measured, or what the operator declared. {@code usedBytes} is what the node last reported
 * in a heartbeat, so every node can show every pool's use without asking its owner.
 */
public record PoolRecord(String id, String node, String path, String cos, long capacityBytes, long usedBytes) {

    public PoolRecord(String id, String node, String path, String cos, long capacityBytes) {
        this(id, node, path, cos, capacityBytes, 0);
    }

    public PoolRecord withUsedBytes(long used) {
        return new PoolRecord(id, node, path, cos, capacityBytes, used);
    }
}
