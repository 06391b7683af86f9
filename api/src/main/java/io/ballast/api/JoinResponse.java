package io.ballast.api;

import java.util.List;

/**
 * The answer to a join: the cluster id, and the metadata group's current members (node name and Raft
 * host:port), through which the new node reaches the leader until it has its own copy of the state.
 */
public record JoinResponse(String clusterId, List<Member> members) {
    public record Member(String name, String address) {}
}
