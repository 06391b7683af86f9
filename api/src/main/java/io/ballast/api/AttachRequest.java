package io.ballast.api;

/**
 * {@code POST /v1/volumes/{name}/attach}: attach on {@code node}, or on the node that answers if
 * null; with {@code block}, also as a block device on that node (its path comes back as
 * {@code device}).
 */
public record AttachRequest(String node, Boolean block) {

    public boolean wantsBlock() {
        return Boolean.TRUE.equals(block);
    }
}
