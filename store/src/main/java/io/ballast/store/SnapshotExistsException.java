package io.ballast.store;

import java.io.IOException;

/** The replica already has a snapshot with this name. */
public final class SnapshotExistsException extends IOException {
    public SnapshotExistsException(String message) {
        super(message);
    }
}
