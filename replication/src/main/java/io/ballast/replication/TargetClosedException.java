package io.ballast.replication;

import java.io.IOException;

/** The volume was detached, or its coordinator was fenced, while a request was in flight. */
public final class TargetClosedException extends IOException {
    public TargetClosedException(String message) {
        super(message);
    }
}
