package io.ballast.meta;

import java.util.Objects;

/**
 * A member of the metadata group as the membership controller sees it: a node name (its Raft peer id)
 * and the host:port of its Raft server.
 */
public record MetaPeer(String name, String address) {
    public MetaPeer {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(address, "address");
    }

    /** host:port, with brackets around an IPv6 host. */
    public static MetaPeer of(String name, String host, int port) {
        return new MetaPeer(name, (host.indexOf(':') >= 0 && !host.startsWith("[") ? "[" + host + "]" : host) + ":" + port);
    }
}
