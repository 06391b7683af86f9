package io.ballast.api;

/**
 * A storage pool. {@code availableBytes} is what writes can still allocate: the capacity left,
 * or less when other files fill the pool's filesystem. {@code provisionedBytes} is the sum of
 * the sizes of the volumes placed on it.
 */
public record PoolView(String id, String node, String path, String cos, long capacityBytes, long usedBytes,
                       long availableBytes, long provisionedBytes, int volumes) {}
