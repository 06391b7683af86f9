package io.ballast.api;

/** A storage pool; {@code provisionedBytes} is the sum of the sizes of the volumes placed on it. */
public record PoolView(String id, String node, String path, String cos, long capacityBytes, long usedBytes,
                       long provisionedBytes, int volumes) {}
