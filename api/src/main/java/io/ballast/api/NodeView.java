package io.ballast.api;

import java.util.List;
import java.util.Map;

/** A node as {@code GET /v1/nodes} shows it; {@code lastHeartbeat} is RFC 3339. */
public record NodeView(String name, String state, String address, int apiPort, int nbdPort, int peerPort,
                       int raftPort, Map<String, String> labels, List<PoolView> pools, long capacityBytes,
                       long usedBytes, String lastHeartbeat) {}
