package io.ballast.meta;

/** One replica of a volume: where it lives and whether it is in the in-sync set (in-sync|resyncing|stale|failed). */
public record ReplicaRecord(String node, String pool, String state) {
}
