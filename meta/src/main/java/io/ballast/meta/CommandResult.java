package io.ballast.meta;

/**
 * What applying a {@link Command} did. {@code code} is OK, NOT_FOUND, CONFLICT or INVALID;
 * {@code value} carries a command-specific number (the epoch for AttachVolume and DetachVolume), else 0.
 * A rejected command changed nothing.
 */
public record CommandResult(boolean ok, String code, String message, long value) {
    public static final String OK = "OK";
    public static final String NOT_FOUND = "NOT_FOUND";
    public static final String CONFLICT = "CONFLICT";
    public static final String INVALID = "INVALID";

    public static CommandResult success() {
        return new CommandResult(true, OK, "", 0);
    }

    public static CommandResult success(long value) {
        return new CommandResult(true, OK, "", value);
    }

    public static CommandResult notFound(String message) {
        return new CommandResult(false, NOT_FOUND, message, 0);
    }

    public static CommandResult conflict(String message) {
        return new CommandResult(false, CONFLICT, message, 0);
    }

    public static CommandResult invalid(String message) {
        return new CommandResult(false, INVALID, message, 0);
    }
}
