package io.ballast.api;

/** One snapshot of a volume; {@code createdAt} is RFC 3339. */
public record SnapshotView(String volume, String name, String createdAt) {}
