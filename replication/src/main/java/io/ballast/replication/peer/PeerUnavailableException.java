package io.ballast.replication.peer;

import java.io.IOException;
import java.net.InetSocketAddress;

/**
 * Another node could not be reached, lost the connection during a call, or did not answer in
 * time. In the last two cases the operation may or may not have happened on that node.
 */
public final class PeerUnavailableException extends IOException {
    private final String node;
    private final InetSocketAddress address;

    PeerUnavailableException(String node, InetSocketAddress address, String problem) {
        super("node " + node + " (" + format(address) + ") " + problem);
        this.node = node;
        this.address = address;
    }

    public String node() {
        return node;
    }

    public InetSocketAddress address() {
        return address;
    }

    /** host:port, without the {@code host/ip} form of {@link InetSocketAddress#toString}. */
    static String format(InetSocketAddress address) {
        return address.getHostString() + ":" + address.getPort();
    }
}
