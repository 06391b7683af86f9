package io.ballast.api;

/** The error codes of the REST API and the HTTP status each goes with. */
public final class ErrorCodes {
    public static final String INVALID = "INVALID";            // 400
    public static final String NOT_FOUND = "NOT_FOUND";        // 404
    public static final String CONFLICT = "CONFLICT";          // 409
    public static final String NO_SPACE = "NO_SPACE";          // 507
    public static final String UNAVAILABLE = "UNAVAILABLE";    // 503: no metadata quorum, node shutting down
    public static final String INTERNAL = "INTERNAL";          // 500

    private ErrorCodes() {}

    public static int httpStatus(String code) {
        return switch (code) {
            case INVALID -> 400;
            case NOT_FOUND -> 404;
            case CONFLICT -> 409;
            case NO_SPACE -> 507;
            case UNAVAILABLE -> 503;
            default -> 500;
        };
    }
}
