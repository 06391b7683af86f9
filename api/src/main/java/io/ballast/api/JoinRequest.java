package io.ballast.api;

import java.util.Map;

/**
 * The body of {@code POST /v1/cluster/join}, sent by a node starting with {@code --join} to any member:
 * who it is and where its endpoints are.
 */
public record JoinRequest(String name, String address, int apiPort, int nbdPort, int peerPort, int raftPort,
                          Map<String, String> labels) {}
