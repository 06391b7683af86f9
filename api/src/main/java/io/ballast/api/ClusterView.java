package io.ballast.api;

/** {@code GET /v1/cluster}: a summary of the whole cluster. */
public record ClusterView(String clusterId, String leader, int nodes, int nodesUp, int volumes, int attached,
                          long capacityBytes, long usedBytes, long provisionedBytes) {}
