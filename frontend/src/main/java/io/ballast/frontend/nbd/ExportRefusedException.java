package io.ballast.frontend.nbd;

/**
 * {@link ExportRegistry#open} will not serve an export, or {@link ExportRegistry#exportSize}
 * will not describe it. The message is sent to the NBD client,
 * so it should say what a user can act on, such as the node the volume is attached to.
 */
public final class ExportRefusedException extends Exception {

    /** Why the export was refused; each maps to its own NBD option error. */
    public enum Reason {
        /** No such export ({@code NBD_REP_ERR_UNKNOWN}). */
        UNKNOWN,
        /** The export exists but may not be served here, e.g. it is attached on another node ({@code NBD_REP_ERR_POLICY}). */
        POLICY,
        /** The export cannot be served right now ({@code NBD_REP_ERR_SHUTDOWN}). */
        UNAVAILABLE
    }

    private final Reason reason;

    public ExportRefusedException(Reason reason, String message) {
        super(message);
        this.reason = reason;
    }

    public Reason reason() {
        return reason;
    }
}
