package io.ballast.frontend.nbd;

import io.ballast.replication.BlockTarget;
import java.util.List;

/**
 * The exports an {@link NbdServer} offers: one per volume, named after it.
 *
 * <p>Every method is called on a virtual thread, never on a network thread, so they may
 * block (attaching a volume talks to the metadata store and to replicas).
 */
public interface ExportRegistry {

    /** The names to answer {@code NBD_OPT_LIST} with. */
    List<String> exportNames();

    /**
     * The size in bytes of {@code exportName}, for {@code NBD_OPT_INFO}. Unlike {@link #open}
     * it must not attach anything: clients probe exports this way ({@code nbdinfo --list} asks
     * about every one), and a probe that attached a volume would leave it attached, so that it
     * could no longer be deleted or restored.
     */
    long exportSize(String exportName) throws ExportRefusedException;

    /**
     * Returns the target to serve for {@code exportName}, attaching the volume if needed.
     * Called for {@code NBD_OPT_GO} and {@code NBD_OPT_EXPORT_NAME};
     * several connections to one export may each call it, and each must get a target that
     * shares one cache with the others (the server advertises {@code CAN_MULTI_CONN}).
     */
    BlockTarget open(String exportName) throws ExportRefusedException;
}
