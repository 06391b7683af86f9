package io.ballast.meta;

import java.io.IOException;

/**
 * The metadata store could not answer: no leader, no quorum, or the store is closed. For a write, the
 * command may or may not have been committed; re-read the state before retrying a non-idempotent one.
 */
public final class MetaUnavailableException extends IOException {
    public MetaUnavailableException(String message) {
        super(message);
    }

    public MetaUnavailableException(String message, Throwable cause) {
        super(message, cause);
    }
}
