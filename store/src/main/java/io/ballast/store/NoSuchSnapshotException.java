package io.ballast.store;

import java.io.IOException;

/** The replica has no snapshot with this name. */
public final class NoSuchSnapshotException extends IOException {
    public NoSuchSnapshotException(String message) {
        super(message);
    }
}
