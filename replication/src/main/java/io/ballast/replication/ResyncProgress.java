package io.ballast.replication;

/**
 * How far the resync of one replica has come.
 *
 * @param node          the replica's node
 * @param full          true for a full comparison (a rebuild, or a resync without a dirty-region map)
 * @param bytesToCheck  the bytes the resync compares in all
 * @param bytesChecked  the bytes compared so far
 * @param bytesCopied   the bytes that differed and were copied so far
 * @param bytesPerSecond compared bytes per second since the start
 * @param etaSeconds    seconds left at that rate, or -1 before there is a rate
 */
public record ResyncProgress(String node, boolean full, long bytesToCheck, long bytesChecked, long bytesCopied,
                             double bytesPerSecond, long etaSeconds) {

    public double percent() {
        return bytesToCheck == 0 ? 100.0 : 100.0 * bytesChecked / bytesToCheck;
    }
}
