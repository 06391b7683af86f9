package io.ballast.node;

import io.ballast.api.ErrorCodes;

/** A request failed for a reason the user can act on; carries the API error code. */
public final class ApiException extends RuntimeException {
    private final String code;

    public ApiException(String code, String message) {
        super(message);
        this.code = code;
    }

    public ApiException(String code, String message, Throwable cause) {
        super(message, cause);
        this.code = code;
    }

    public String code() {
        return code;
    }

    public int httpStatus() {
        return ErrorCodes.httpStatus(code);
    }

    public static ApiException invalid(String message) {
        return new ApiException(ErrorCodes.INVALID, message);
    }

    public static ApiException notFound(String message) {
        return new ApiException(ErrorCodes.NOT_FOUND, message);
    }

    public static ApiException conflict(String message) {
        return new ApiException(ErrorCodes.CONFLICT, message);
    }
}
