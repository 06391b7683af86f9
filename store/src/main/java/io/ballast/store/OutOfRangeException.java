package io.ballast.store;

import java.io.IOException;

/** A request reaches beyond the end of the volume, or has a negative offset or length. */
public final class OutOfRangeException extends IOException {
    public OutOfRangeException(String message) {
        super(message);
    }
}
