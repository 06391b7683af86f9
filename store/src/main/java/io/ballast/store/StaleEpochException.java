package io.ballast.store;

import java.io.IOException;

/**
 * A request carries an older attach epoch than the replica has admitted: the volume was attached
 * elsewhere since, so whoever sent it is no longer the volume's coordinator and must stop.
 */
public final class StaleEpochException extends IOException {
    public StaleEpochException(String message) {
        super(message);
    }
}
