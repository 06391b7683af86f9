package io.ballast.store;

import java.io.IOException;

/**
 * A write needed new space and the pool has none left. Nothing already written is lost;
 * writes succeed again once space is freed (trim, snapshot or volume deletion).
 */
public final class PoolFullException extends IOException {
    public PoolFullException(String message) {
        super(message);
    }
}
