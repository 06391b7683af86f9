package io.ballast.store;

import java.io.IOException;

/** A replica with this id already exists in the pool. */
public final class ReplicaExistsException extends IOException {
    public ReplicaExistsException(String message) {
        super(message);
    }
}
