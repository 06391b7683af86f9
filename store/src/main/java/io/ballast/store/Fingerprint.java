package io.ballast.store;

import java.util.Properties;

/**
 * What {@link PoolFingerprint} measured of a pool: its class of service and the rates it was
 * derived from.
 *
 * @param cos              {@code "low"}, {@code "medium"} or {@code "high"} (see {@link PoolFingerprint#CLASSES})
 * @param syncWriteIops    4 KiB writes at random offsets per second, each followed by fdatasync
 * @param randomReadIops   4 KiB O_DIRECT reads at random offsets per second; 0 where the
 *                         filesystem does not support O_DIRECT (reads would only hit the page cache)
 * @param measuredAtMillis when the measurement ran, in milliseconds since the epoch
 */
public record Fingerprint(String cos, double syncWriteIops, double randomReadIops, long measuredAtMillis) {
    private static final String COS = "cos";
    private static final String SYNC_WRITE_IOPS = "syncWriteIops";
    private static final String RANDOM_READ_IOPS = "randomReadIops";
    private static final String MEASURED_AT = "measuredAtMillis";

    public Fingerprint {
        if (!PoolFingerprint.CLASSES.contains(cos)) {
            throw new IllegalArgumentException("class of service must be one of " + PoolFingerprint.CLASSES + ": " + cos);
        }
    }

    /** The fingerprint recorded in a pool's manifest, or null for a pool that has none yet. */
    static Fingerprint from(Properties manifest) {
        String cos = manifest.getProperty(COS);
        if (cos == null) {
            return null;
        }
        return new Fingerprint(cos, Double.parseDouble(manifest.getProperty(SYNC_WRITE_IOPS, "0")),
                Double.parseDouble(manifest.getProperty(RANDOM_READ_IOPS, "0")),
                Long.parseLong(manifest.getProperty(MEASURED_AT, "0")));
    }

    /** Records the fingerprint in a pool's manifest. */
    void storeInto(Properties manifest) {
        manifest.setProperty(COS, cos);
        manifest.setProperty(SYNC_WRITE_IOPS, Double.toString(syncWriteIops));
        manifest.setProperty(RANDOM_READ_IOPS, Double.toString(randomReadIops));
        manifest.setProperty(MEASURED_AT, Long.toString(measuredAtMillis));
    }
}
