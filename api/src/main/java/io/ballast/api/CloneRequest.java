package io.ballast.api;

/**
 * {@code POST /v1/volumes/{source}/clone}: a new volume {@code name} from snapshot {@code snapshot}
 * of the source, or from the source's current content when {@code snapshot} is null.
 */
public record CloneRequest(String name, String snapshot) {}
