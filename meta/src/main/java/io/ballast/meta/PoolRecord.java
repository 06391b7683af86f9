package io.ballast.meta;

/** A storage pool on one node; {@code cos} is the class of service its fingerprint gave it: low, medium or high. */
public record PoolRecord(String id, String node, String path, String cos, long capacityBytes) {
}
