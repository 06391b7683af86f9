package io.ballast.store;

import java.io.IOException;

/** No replica with this id exists in the pool. */
public final class NoSuchReplicaException extends IOException {
    public NoSuchReplicaException(String message) {
        super(message);
    }
}
