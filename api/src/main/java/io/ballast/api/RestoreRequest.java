package io.ballast.api;

/** {@code POST /v1/volumes/{name}/restore}: bring a detached volume back to {@code snapshot}. */
public record RestoreRequest(String snapshot) {}
