package io.ballast.meta;

import java.util.List;

/**
 * The members of the metadata group: the voters, whose majority commits every change, and the
 * listeners, which receive the log and keep a local copy of the state but never vote.
 */
public record Membership(List<MetaPeer> voters, List<MetaPeer> listeners) {
    public Membership {
        voters = List.copyOf(voters);
        listeners = List.copyOf(listeners);
    }

    public boolean isMember(String name) {
        return voters.stream().anyMatch(p -> p.name().equals(name)) || listeners.stream().anyMatch(p -> p.name().equals(name));
    }

    public List<String> voterNames() {
        return voters.stream().map(MetaPeer::name).toList();
    }
}
