package io.ballast.meta;

/** A named snapshot of a volume. */
public record SnapshotRecord(String name, long createdAtMillis) {
}
