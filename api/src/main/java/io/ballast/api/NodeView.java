package io.ballast.api;

import java.util.List;
import java.util.Map;

/**
 * A node as {@code GET /v1/nodes} shows it. {@code state} is up or down (its lease expired);
 * {@code metadata} is its part in the metadata group: leader, voter, listener, or none (not yet a member);
 * {@code lastHeartbeat} is RFC 3339, by the node's own clock.
 */
public record NodeView(String name, String state, String metadata, String address, int apiPort, int nbdPort,
                       int peerPort, int raftPort, Map<String, String> labels, List<PoolView> pools,
                       long capacityBytes, long usedBytes, String lastHeartbeat) {}
