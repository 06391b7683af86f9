package io.ballast.meta;

import java.util.List;

/**
 * The voters of the metadata group, whose majority commits every change. Every other node is a client of
 * the group (see {@link VoterPolicy}).
 */
public record Membership(List<MetaPeer> voters) {
    public Membership {
        voters = List.copyOf(voters);
    }

    public boolean isVoter(String name) {
        return voters.stream().anyMatch(p -> p.name().equals(name));
    }

    public List<String> voterNames() {
        return voters.stream().map(MetaPeer::name).toList();
    }
}
