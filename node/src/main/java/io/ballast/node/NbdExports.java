package io.ballast.node;

import io.ballast.api.ErrorCodes;
import io.ballast.api.VolumeView;
import io.ballast.frontend.nbd.ExportRefusedException;
import io.ballast.frontend.nbd.ExportRegistry;
import io.ballast.replication.BlockTarget;
import java.util.List;

/**
 * The NBD exports of this node: one per volume. A client that connects to a detached volume
 * attaches it here; one attached on another node is refused with a message naming that node.
 * A client that only asks about a volume ({@code NBD_OPT_INFO}) is answered from its metadata
 * and attaches nothing.
 */
final class NbdExports implements ExportRegistry {
    private final VolumeService volumes;

    NbdExports(VolumeService volumes) {
        this.volumes = volumes;
    }

    @Override
    public List<String> exportNames() {
        return volumes.list().stream().map(VolumeView::name).toList();
    }

    @Override
    public long exportSize(String exportName) throws ExportRefusedException {
        try {
            return volumes.inspect(exportName).sizeBytes();
        } catch (ApiException e) {
            ExportRefusedException.Reason reason = ErrorCodes.NOT_FOUND.equals(e.code())
                    ? ExportRefusedException.Reason.UNKNOWN
                    : ExportRefusedException.Reason.UNAVAILABLE;
            throw new ExportRefusedException(reason, e.getMessage());
        }
    }

    @Override
    public BlockTarget open(String exportName) throws ExportRefusedException {
        try {
            return volumes.attachHere(exportName);
        } catch (ApiException e) {
            ExportRefusedException.Reason reason = switch (e.code()) {
                case ErrorCodes.NOT_FOUND -> ExportRefusedException.Reason.UNKNOWN;
                case ErrorCodes.CONFLICT, ErrorCodes.INVALID -> ExportRefusedException.Reason.POLICY;
                default -> ExportRefusedException.Reason.UNAVAILABLE;
            };
            throw new ExportRefusedException(reason, e.getMessage());
        }
    }
}
