package io.ballast.meta;

/**
 * One replica of a volume: where it lives and where it stands. Only {@link #IN_SYNC} replicas are in the
 * volume's in-sync set; the others are resyncing (catching up), stale (missed writes) or failed.
 */
public record ReplicaRecord(String node, String pool, String state) {
    public static final String IN_SYNC = "in-sync";
    public static final String RESYNCING = "resyncing";
    public static final String STALE = "stale";
    public static final String FAILED = "failed";

    public boolean inSync() {
        return IN_SYNC.equals(state);
    }
}
