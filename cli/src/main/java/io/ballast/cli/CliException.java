package io.ballast.cli;

/** Ends the command with one line on stderr and an exit status: 2 for bad input, 1 otherwise. */
final class CliException extends RuntimeException {
    static final int FAILURE = 1;
    static final int USAGE = 2;

    private final int exitCode;

    CliException(int exitCode, String message) {
        super(message);
        this.exitCode = exitCode;
    }

    int exitCode() {
        return exitCode;
    }

    static CliException usage(String message) {
        return new CliException(USAGE, message);
    }
}
