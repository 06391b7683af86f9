package io.ballast.api;

import java.util.List;
import java.util.Map;

/**
 * A node as {@code GET /v1/nodes} shows it. {@code state} is up or down (its lease expired);
 * {@code metadata} is its part in the metadata group: leader, voter, or client (a node that does not vote);
 * {@code lastHeartbeat} is RFC 3339, by the node's own clock.
 */
public record NodeView(String name, String state, String metadata, String address, int apiPort, int nbdPort,
                       int peerPort, int raftPort, Map<String, String> labels, List<PoolView> pools,
                       long capacityBytes, long usedBytes, String lastHeartbeat) {}
