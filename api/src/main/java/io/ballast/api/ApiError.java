package io.ballast.api;

/**
 * The error body of every failed API call: {@code {"error": {"code": "...", "message": "..."}}}.
 * The message is one line meant for a person: what was wrong and what to do.
 */
public record ApiError(Detail error) {

    public record Detail(String code, String message) {}

    public static ApiError of(String code, String message) {
        return new ApiError(new Detail(code, message));
    }
}
