package io.ballast.frontend.fuse;

import java.nio.file.Path;

/**
 * A daemon stand-in for {@link FuseStaleMountTest}: mounts block files at {@code args[0]} with
 * one file backed by {@code args[1]}, says "mounted" and waits to be killed.
 */
public final class MountAndWait {

    private MountAndWait() {}

    public static void main(String[] args) throws Exception {
        BlockFileMount mount = BlockFileMount.mount(Path.of(args[0]));
        mount.add("vol1", SparseFileTarget.create(Path.of(args[1]), 1 << 20));
        System.out.println("mounted");
        System.out.flush();
        Thread.sleep(Long.MAX_VALUE);
    }
}
