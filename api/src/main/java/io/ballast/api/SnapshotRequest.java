package io.ballast.api;

/** {@code POST /v1/volumes/{name}/snapshots}. */
public record SnapshotRequest(String name) {}
