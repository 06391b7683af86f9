package io.ballast.api;

/** The body of {@code POST /v1/volumes/{name}/ha-update}: the new replication factor. */
public record HaUpdateRequest(Integer repl) {}
