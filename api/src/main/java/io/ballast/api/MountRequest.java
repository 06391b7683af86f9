package io.ballast.api;

/** {@code POST /v1/volumes/{name}/mount} and {@code POST /v1/unmount}: an absolute path on the node. */
public record MountRequest(String path) {}
