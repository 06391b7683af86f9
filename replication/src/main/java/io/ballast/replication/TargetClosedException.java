package io.ballast.replication;

import java.io.IOException;

/** The volume was detached from this node while the request was on its way. */
public final class TargetClosedException extends IOException {
    public TargetClosedException(String message) {
        super(message);
    }
}
