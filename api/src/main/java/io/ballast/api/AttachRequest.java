package io.ballast.api;

/** {@code POST /v1/volumes/{name}/attach}: attach on {@code node}, or on the node that answers if null. */
public record AttachRequest(String node) {}
