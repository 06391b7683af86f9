package io.ballast.replication.peer;

import java.io.IOException;

/** The other end of a peer connection sent something that is not the peer protocol. */
final class PeerProtocolException extends IOException {
    PeerProtocolException(String message) {
        super(message);
    }
}
